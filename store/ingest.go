package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// BlockRows is everything one committed block adds to the database, prepared by ledgersync.
// Balance changes are one per account and asset (the block's net change); the other slices
// hold one entry per event, in block order.
type BlockRows struct {
	Block         Block
	Txs           []Transaction
	Legs          []TransferLeg // settlement_legs: every leg but a plain transfer's, which its tx row stands for
	Changes       []BalanceChange
	NewMembers    []Member
	NewAccounts   []Account
	NewAssets     []Asset
	AccountStatus []StatusChange
	AssetStatus   []StatusChange
	Supply        []SupplyPoint
	Settlements   []Settlement
	Reserves      []ReserveAttestation
	Rollups       []RollupDelta

	// encoded holds, per appendTables entry, the rows an Encoder encoded for COPY.
	encoded [][]byte
}

// RollupDelta adds to one daily rollup.
type RollupDelta struct {
	Day                  time.Time
	Member, Asset, Type  string
	TxCount, FailedCount int64
	Value                uint64
}

// rowCount is the rows a block appends, for choosing COPY and for rows/s.
func (b *BlockRows) rowCount() int {
	return 1 + len(b.Txs) + len(b.Legs) + len(b.Changes) + len(b.Reserves) + len(b.Supply) +
		len(b.NewAccounts) + len(b.NewAssets) + len(b.Settlements)
}

// WriteOptions tunes WriteBlocks.
type WriteOptions struct {
	// CopyMinRows is the row count from which the append-only tables are written with COPY
	// rather than multi-row INSERT; 0 means DefaultCopyMinRows. COPY wins on large batches
	// and costs a round trip per table on small ones.
	CopyMinRows int
}

// DefaultCopyMinRows is where COPY starts to beat INSERT on this schema.
const DefaultCopyMinRows = 2000

// WriteResult says what WriteBlocks did.
type WriteResult struct {
	// Written is the blocks written; Skipped those already stored (a replay).
	Written, Skipped int
	// Rows is the rows appended or changed.
	Rows int
	// Copy is true when COPY was used.
	Copy bool
	// Cursor is the height after the write.
	Cursor int64
}

// DivergenceError is a block whose hash differs from the stored block at its height.
type DivergenceError struct {
	Height       int64
	Stored, Node []byte
}

func (e *DivergenceError) Error() string {
	return fmt.Sprintf("block %d: stored hash %X, node has %X", e.Height, e.Stored, e.Node)
}

// Is makes errors.Is(err, ErrDivergence) true.
func (e *DivergenceError) Is(target error) bool { return target == ErrDivergence }

// WriteBlocks writes consecutive blocks and moves the cursor past them in one transaction, so
// a block is in the database entirely or not at all. Blocks at or below the cursor are not
// written again: their hashes are compared with the stored ones, and a difference is a
// DivergenceError. The first block above the cursor must be the cursor's next height.
func (db *DB) WriteBlocks(ctx context.Context, blocks []*BlockRows, opts WriteOptions) (WriteResult, error) {
	if opts.CopyMinRows <= 0 {
		opts.CopyMinRows = DefaultCopyMinRows
	}
	var res WriteResult
	var months []int64
	err := db.TransactPgx(ctx, func(tx pgx.Tx) error {
		res = WriteResult{}
		var cursor int64
		if err := tx.QueryRow(ctx, "SELECT height FROM sync_cursor WHERE id = 1 FOR UPDATE").Scan(&cursor); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("sync cursor: genesis not written: %w", ErrNotFound)
			}
			return fmt.Errorf("read sync cursor: %w", err)
		}
		todo, err := db.skipStored(ctx, tx, blocks, cursor)
		if err != nil {
			return err
		}
		res.Skipped = len(blocks) - len(todo)
		res.Cursor = cursor
		if len(todo) == 0 {
			return nil
		}
		for i, b := range todo {
			if want := cursor + 1 + int64(i); b.Block.Height != want {
				return fmt.Errorf("write block %d: expected height %d: %w", b.Block.Height, want, ErrConflict)
			}
		}
		if months, err = db.ensurePartitions(ctx, tx, todo); err != nil {
			return err
		}
		var deferred []string
		if err := tx.QueryRow(ctx, "SELECT coalesce(array_agg(name), '{}') FROM deferred_indexes").Scan(&deferred); err != nil {
			return fmt.Errorf("read deferred indexes: %w", err)
		}
		rows := 0
		for _, b := range todo {
			rows += b.rowCount()
		}
		res.Copy = rows >= opts.CopyMinRows
		if err := appendRows(ctx, tx, todo, res.Copy); err != nil {
			return err
		}
		if err := upsertRows(ctx, tx, todo, res.Copy, !slices.Contains(deferred, BalancesRebuild)); err != nil {
			return err
		}
		last := todo[len(todo)-1].Block
		if _, err := tx.Exec(ctx, `UPDATE sync_cursor SET height = $1, hash = $2, block_time = $3, updated_at = now() WHERE id = 1`,
			last.Height, last.Hash, last.Time); err != nil {
			return fmt.Errorf("move sync cursor: %w", err)
		}
		res.Written, res.Rows, res.Cursor = len(todo), rows, last.Height
		return nil
	})
	if err != nil {
		return WriteResult{}, err
	}
	db.partMu.Lock()
	for _, m := range months {
		db.months[m] = true
	}
	db.partMu.Unlock()
	return res, nil
}

// skipStored checks the blocks at or below the cursor against the stored hashes and returns
// the rest.
func (db *DB) skipStored(ctx context.Context, tx pgx.Tx, blocks []*BlockRows, cursor int64) ([]*BlockRows, error) {
	i := 0
	for ; i < len(blocks) && blocks[i].Block.Height <= cursor; i++ {
		b := blocks[i].Block
		var stored []byte
		if err := tx.QueryRow(ctx, "SELECT hash FROM blocks WHERE height = $1", b.Height).Scan(&stored); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				// Below the first synced height of a database started from a snapshot;
				// nothing to compare with.
				continue
			}
			return nil, fmt.Errorf("read block %d: %w", b.Height, err)
		}
		if !bytes.Equal(stored, b.Hash) {
			return nil, &DivergenceError{Height: b.Height, Stored: stored, Node: b.Hash}
		}
	}
	return blocks[i:], nil
}

// ensurePartitions creates the monthly partitions the blocks need, and the next month's, so
// that the first block of a month rarely waits for DDL. It returns the months it checked, to
// remember once the transaction commits (a rollback undoes the DDL too).
func (db *DB) ensurePartitions(ctx context.Context, tx pgx.Tx, blocks []*BlockRows) ([]int64, error) {
	first := monthStart(blocks[0].Block.Time)
	last := monthStart(blocks[len(blocks)-1].Block.Time).AddDate(0, 1, 0)
	var need []int64
	db.partMu.Lock()
	for m := first; !m.After(last); m = m.AddDate(0, 1, 0) {
		if !db.months[m.Unix()] {
			need = append(need, m.Unix())
		}
	}
	db.partMu.Unlock()
	if len(need) == 0 {
		return nil, nil
	}
	if _, err := tx.Exec(ctx, "SELECT ensure_month_partitions($1, $2)", first, last); err != nil {
		return nil, fmt.Errorf("create partitions %s..%s: %w", first.Format("2006-01"), last.Format("2006-01"), err)
	}
	return need, nil
}

func monthStart(t time.Time) time.Time {
	y, m, _ := t.UTC().Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
}

// appendRows writes the rows that only ever get added, with COPY or multi-row INSERT.
func appendRows(ctx context.Context, tx pgx.Tx, blocks []*BlockRows, useCopy bool) error {
	// The balance changes are grouped and encoded while the other tables are sent: the
	// server is then busy with those.
	chunks := make(chan chunkWrite, 1)
	go func() { chunks <- prepareChunks(blocks, useCopy) }()
	encoded := useCopy && allEncoded(blocks)
	for i := range appendTables {
		t := &appendTables[i]
		if encoded && t.encoded {
			if err := copyEncoded(ctx, tx, i, blocks); err != nil {
				return err
			}
			continue
		}
		rows := t.values(blocks...)
		if rows.n == 0 {
			continue
		}
		if useCopy {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, rows); err != nil {
				return fmt.Errorf("copy %s: %w", t.name, err)
			}
			continue
		}
		if err := insertRows(ctx, tx, t.name, t.cols, rows, ""); err != nil {
			return err
		}
	}
	return (<-chunks).write(ctx, tx)
}

// maxParams is PostgreSQL's limit on bind parameters in one statement.
const maxParams = 65535

// insertRows writes rows with multi-row INSERT statements, as many rows per statement as the
// parameter limit allows (at most 1000), followed by suffix (an ON CONFLICT clause).
func insertRows(ctx context.Context, tx pgx.Tx, name string, cols []string, rows *fieldRows, suffix string) error {
	per := min(maxParams/len(cols), 1000)
	for lo := 0; lo < rows.n; lo += per {
		hi := min(lo+per, rows.n)
		var sb strings.Builder
		sb.WriteString("INSERT INTO ")
		sb.WriteString(name)
		sb.WriteString(" (")
		sb.WriteString(strings.Join(cols, ", "))
		sb.WriteString(") VALUES ")
		args := make([]any, 0, (hi-lo)*len(cols))
		for i := lo; i < hi; i++ {
			if i > lo {
				sb.WriteString(", ")
			}
			sb.WriteByte('(')
			for j, v := range rows.row(i) {
				if j > 0 {
					sb.WriteString(", ")
				}
				fmt.Fprintf(&sb, "$%d", len(args)+1)
				args = append(args, v)
			}
			sb.WriteByte(')')
		}
		sb.WriteString(suffix)
		if _, err := tx.Exec(ctx, sb.String(), args...); err != nil {
			return fmt.Errorf("insert %s: %w", name, err)
		}
	}
	return nil
}

// upsertRows applies the changes to rows that hold current state, folded over the batch so
// each row is written once; the balances only if withBalances (not while BalancesRebuild
// is pending).
func upsertRows(ctx context.Context, tx pgx.Tx, blocks []*BlockRows, useCopy, withBalances bool) error {
	if err := updateStatusAndSupply(ctx, tx, blocks); err != nil {
		return err
	}
	if withBalances {
		if err := writeBalances(ctx, tx, latestBalances(blocks), useCopy); err != nil {
			return err
		}
	}
	if err := settlementsUpsert.write(ctx, tx, latestSettlements(blocks), useCopy); err != nil {
		return err
	}
	return rollupsUpsert.write(ctx, tx, sumRollups(blocks), useCopy)
}

// updateStatusAndSupply sets the accounts' and assets' latest status and the assets' latest
// supply, in one round trip, in key order.
func updateStatusAndSupply(ctx context.Context, tx pgx.Tx, blocks []*BlockRows) error {
	type status struct {
		status string
		height int64
	}
	acct := map[string]status{}
	asset := map[string]status{}
	supply := map[string]SupplyPoint{}
	for _, b := range blocks {
		for _, s := range b.AccountStatus {
			acct[string(s.Key)] = status{s.Status, s.Height}
		}
		for _, s := range b.AssetStatus {
			asset[string(s.Key)] = status{s.Status, s.Height}
		}
		for _, s := range b.Supply {
			supply[s.Asset] = s
		}
	}
	batch := &pgx.Batch{}
	for _, k := range sortedKeys(acct) {
		s := acct[k]
		batch.Queue("UPDATE accounts SET status = $2, updated_height = $3 WHERE address = $1", []byte(k), s.status, s.height)
	}
	for _, k := range sortedKeys(asset) {
		s := asset[k]
		batch.Queue("UPDATE assets SET status = $2, updated_height = $3 WHERE symbol = $1", k, s.status, s.height)
	}
	for _, k := range sortedKeys(supply) {
		s := supply[k]
		batch.Queue("UPDATE assets SET supply = $2, updated_height = greatest(updated_height, $3) WHERE symbol = $1", k, s.Supply, s.Height)
	}
	if batch.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("update statuses and supply: %w", err)
	}
	return nil
}

// latestBalances is each holding's last change in the batch.
func latestBalances(blocks []*BlockRows) []BalanceChange {
	bal := map[[2]string]BalanceChange{}
	for _, b := range blocks {
		for _, c := range b.Changes {
			bal[[2]string{string(c.Account), c.Asset}] = c
		}
	}
	return slices.Collect(maps.Values(bal))
}

// writeBalances upserts holdings, one change per account and asset, sorted by account and
// asset so that concurrent writers (there should be one) would lock rows in one order.
func writeBalances(ctx context.Context, tx pgx.Tx, changes []BalanceChange, useCopy bool) error {
	changes = slices.Clone(changes)
	slices.SortFunc(changes, func(a, b BalanceChange) int {
		if c := bytes.Compare(a.Account, b.Account); c != 0 {
			return c
		}
		return strings.Compare(a.Asset, b.Asset)
	})
	return balancesUpsert.write(ctx, tx, changes, useCopy)
}

// latestSettlements is each settlement of the batch once, in first-seen order: what its
// first event said, with the state of its latest.
func latestSettlements(blocks []*BlockRows) []Settlement {
	var out []Settlement
	at := map[string]int{}
	for _, b := range blocks {
		for _, s := range b.Settlements {
			i, seen := at[string(s.ID)]
			if !seen {
				at[string(s.ID)] = len(out)
				out = append(out, s)
				continue
			}
			prev := &out[i]
			prev.State, prev.Reason, prev.CloseRef = s.State, s.Reason, s.CloseRef
			prev.ClosedHeight, prev.ClosedTime = s.ClosedHeight, s.ClosedTime
		}
	}
	return out
}

// sumRollups adds up the batch's rollup deltas per day, member, asset and type, in
// first-seen order.
func sumRollups(blocks []*BlockRows) []rollupSum {
	var out []rollupSum
	at := map[[4]string]int{}
	for _, b := range blocks {
		for _, r := range b.Rollups {
			k := [4]string{r.Day.Format(time.DateOnly), r.Member, r.Asset, r.Type}
			i, ok := at[k]
			if !ok {
				i = len(out)
				at[k] = i
				out = append(out, rollupSum{day: r.Day, member: r.Member, asset: r.Asset, typ: r.Type,
					value: pgtype.Numeric{Int: new(big.Int), Valid: true}})
			}
			s := &out[i]
			s.count += r.TxCount
			s.failed += r.FailedCount
			s.value.Int.Add(s.value.Int, new(big.Int).SetUint64(r.Value))
		}
	}
	return out
}

// write inserts or updates rows. A large batch goes through COPY into a staging table and
// one INSERT … SELECT: multi-row INSERTs of 1000 rows, each parsed and planned with thousands
// of parameters, measured a fifth slower for balances and five times slower for the
// 18-column settlements (26 µs a row). The rest of the cost is the rows and their indexes.
func (u *upsert[R]) write(ctx context.Context, tx pgx.Tx, rows []R, useCopy bool) error {
	if len(rows) == 0 {
		return nil
	}
	vals := valuesOf(u.columns, rows, u.fields)
	if !useCopy || u.stage == "" {
		return insertRows(ctx, tx, u.name, u.cols, vals, u.conflict)
	}
	// A temporary table lives as long as the connection and empties itself at each commit,
	// so a pooled connection creates it once. LIKE takes the columns and their types from the
	// table (its checks and indexes stay behind).
	if _, err := tx.Exec(ctx, "CREATE TEMPORARY TABLE IF NOT EXISTS "+u.stage+" (LIKE "+u.name+") ON COMMIT DELETE ROWS"); err != nil {
		return fmt.Errorf("%s staging table: %w", u.name, err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{u.stage}, u.cols, vals); err != nil {
		return fmt.Errorf("copy %s: %w", u.name, err)
	}
	cols := strings.Join(u.cols, ", ")
	if _, err := tx.Exec(ctx, "INSERT INTO "+u.name+" ("+cols+") SELECT "+cols+" FROM "+u.stage+u.conflict); err != nil {
		return fmt.Errorf("upsert %s: %w", u.name, err)
	}
	return nil
}
