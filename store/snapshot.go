package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Snapshot reads the database as of one instant: the reads of one read-only, repeatable-read
// transaction all see the same committed state, so the cursor and the rows read after it
// agree even while ledgersync keeps writing.
type Snapshot struct {
	tx pgx.Tx
}

// InSnapshot runs fn on a snapshot of the database; the snapshot ends when fn returns.
func (db *DB) InSnapshot(ctx context.Context, fn func(s *Snapshot) error) error {
	return pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error { return fn(&Snapshot{tx: tx}) })
}

// Cursor returns the sync cursor; ErrNotFound before genesis is written.
func (s *Snapshot) Cursor(ctx context.Context) (*Cursor, error) {
	var c Cursor
	err := s.tx.QueryRow(ctx, `SELECT id, chain_id, height, hash, block_time, updated_at, halted_at, halt_reason
		FROM sync_cursor WHERE id = 1`).Scan(&c.ID, &c.ChainID, &c.Height, &c.Hash, &c.BlockTime, &c.UpdatedAt, &c.HaltedAt, &c.HaltReason)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("sync cursor: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sync cursor: %w", err)
	}
	return &c, nil
}

// Block returns the block at a height.
func (s *Snapshot) Block(ctx context.Context, height int64) (*Block, error) {
	var b Block
	err := s.tx.QueryRow(ctx, `SELECT height, hash, time, proposer, app_hash, tx_count, failed_count
		FROM blocks WHERE height = $1`, height).Scan(&b.Height, &b.Hash, &b.Time, &b.Proposer, &b.AppHash, &b.TxCount, &b.FailedCount)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("block %d: %w", height, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("block %d: %w", height, err)
	}
	return &b, nil
}

// MaxAssets bounds the assets a snapshot lists.
const MaxAssets = 100_000

// AssetSupply is an asset's supply as the assets table holds it.
type AssetSupply struct {
	Symbol string
	Supply int64
}

// Supplies lists every asset's supply by symbol in byte order, at most MaxAssets; more is an
// error rather than a silent cut.
func (s *Snapshot) Supplies(ctx context.Context) ([]AssetSupply, error) {
	rows, err := s.tx.Query(ctx, `SELECT symbol, supply FROM assets ORDER BY symbol COLLATE "C" LIMIT $1`, MaxAssets+1)
	if err != nil {
		return nil, fmt.Errorf("asset supplies: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AssetSupply, error) {
		var a AssetSupply
		return a, r.Scan(&a.Symbol, &a.Supply)
	})
	if err != nil {
		return nil, fmt.Errorf("asset supplies: %w", err)
	}
	if len(out) > MaxAssets {
		return nil, fmt.Errorf("asset supplies: more than %d assets: %w", MaxAssets, ErrInvalid)
	}
	return out, nil
}

// TxCounts counts the transactions rows, and of them those that failed.
func (s *Snapshot) TxCounts(ctx context.Context) (total, failed int64, err error) {
	err = s.tx.QueryRow(ctx, "SELECT count(*), count(*) FILTER (WHERE code <> 0) FROM transactions").Scan(&total, &failed)
	if err != nil {
		return 0, 0, fmt.Errorf("count transactions: %w", err)
	}
	return total, failed, nil
}

// EachBalance calls fn with every non-zero holding in (account, asset) byte order, streaming
// them rather than holding them all; an error from fn stops the scan and is returned. The
// zero holdings that the sync keeps (an account emptied) are left out, as the ledger leaves
// them out of its listing.
func (s *Snapshot) EachBalance(ctx context.Context, fn func(Balance) error) error {
	// COLLATE "C" orders symbols by their bytes, as the ledger's store keys do, whatever the
	// database's collation.
	rows, err := s.tx.Query(ctx, `SELECT account, asset, amount, locked, height FROM balances
		WHERE amount <> 0 OR locked <> 0 ORDER BY account, asset COLLATE "C"`)
	if err != nil {
		return fmt.Errorf("balances: %w", err)
	}
	defer rows.Close()
	var b Balance
	for rows.Next() {
		if err := rows.Scan(&b.Account, &b.Asset, &b.Amount, &b.Locked, &b.Height); err != nil {
			return fmt.Errorf("balances: %w", err)
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("balances: %w", err)
	}
	return nil
}
