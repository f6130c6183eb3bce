package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Genesis is the state the chain starts from: written once, with the cursor at height 0.
type Genesis struct {
	ChainID  string
	Time     time.Time
	Members  []Member
	Accounts []Account
	Assets   []Asset
}

// InitGenesis writes the genesis rows and the cursor, unless a cursor exists. An existing
// cursor of another chain is an ErrConflict: one database follows one chain.
func (db *DB) InitGenesis(ctx context.Context, g Genesis) (*Cursor, error) {
	err := db.TransactPgx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO sync_cursor (id, chain_id, height, hash, block_time, updated_at)
			VALUES (1, $1, 0, ''::bytea, $2, now()) ON CONFLICT (id) DO NOTHING`, g.ChainID, g.Time)
		if err != nil {
			return fmt.Errorf("write genesis cursor: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		b := &BlockRows{NewMembers: g.Members, NewAccounts: g.Accounts, NewAssets: g.Assets}
		for i := range appendTables {
			t := &appendTables[i]
			if t.name == "blocks" {
				continue // genesis is height 0, not a block
			}
			rows := t.values(b)
			if rows.n == 0 {
				continue
			}
			if err := insertRows(ctx, tx, t.name, t.cols, rows, ""); err != nil {
				return fmt.Errorf("genesis: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c, err := db.Cursor(ctx)
	if err != nil {
		return nil, err
	}
	if c.ChainID != g.ChainID {
		return nil, fmt.Errorf("database follows chain %q, not %q: %w", c.ChainID, g.ChainID, ErrConflict)
	}
	return c, nil
}

// TrimPastCursor deletes rows above the cursor and returns how many. Rows and cursor commit
// together, so there should be none; this guards against rows written by hand or by a tool
// that bypassed the cursor, before the sync resumes on top of them.
func (db *DB) TrimPastCursor(ctx context.Context) (int64, error) {
	var total int64
	err := db.TransactPgx(ctx, func(tx pgx.Tx) error {
		total = 0
		var h int64
		var t time.Time
		if err := tx.QueryRow(ctx, "SELECT height, block_time FROM sync_cursor WHERE id = 1 FOR UPDATE").Scan(&h, &t); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("sync cursor: %w", ErrNotFound)
			}
			return fmt.Errorf("read sync cursor: %w", err)
		}
		for _, q := range []string{
			"DELETE FROM blocks WHERE height > $1",
			// Block time never goes back, so rows above the cursor are at or after its time:
			// the bound keeps older partitions out of the scan.
			"DELETE FROM transactions WHERE block_time >= $2 AND height > $1",
			"DELETE FROM settlement_legs WHERE block_time >= $2 AND height > $1",
			"DELETE FROM balance_chunks WHERE block_time >= $2 AND height > $1",
			// A chunk that starts at or below the cursor and ends above it keeps its changes
			// up to the cursor. The sync writes none (a batch's chunks commit with the
			// cursor), and this scans the partitions up to the cursor's time.
			// width_bucket counts the heights at or below the cursor.
			`UPDATE balance_chunks SET heights = heights[1:width_bucket($1, heights)], deltas = deltas[1:width_bucket($1, heights)],
				amounts = amounts[1:width_bucket($1, heights)], locked = locked[1:width_bucket($1, heights)],
				last_height = heights[width_bucket($1, heights)]
			WHERE block_time <= $2 AND height <= $1 AND last_height > $1`,
			"DELETE FROM reserve_attestations WHERE height > $1",
			"DELETE FROM supply_history WHERE height > $1",
			"DELETE FROM accounts WHERE height > $1",
			"DELETE FROM assets WHERE height > $1",
			"DELETE FROM members WHERE height > $1",
		} {
			args := []any{h}
			if strings.Contains(q, "$2") {
				args = append(args, t)
			}
			tag, err := tx.Exec(ctx, q, args...)
			if err != nil {
				return fmt.Errorf("trim past cursor: %w", err)
			}
			total += tag.RowsAffected()
		}
		return nil
	})
	return total, err
}
