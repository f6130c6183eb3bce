package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ledgerscope/ledgerscope/ledgersync/memchain"
	"github.com/ledgerscope/ledgerscope/store"
)

// ingestParties is how many accounts the catch-up traffic moves assets among (fewer for a
// small run): each block then changes thousands of distinct holdings, as a busy day's
// blocks do.
func ingestParties(txs int) int { return min(10_000, max(100, txs/100)) }

// maxCopyRows bounds the rows the raw COPY figure holds in memory.
const maxCopyRows = 2_000_000

// ingest builds a chain of IngestTxs mixed txs through the ledger app (not timed), then times
// the ledgersync worker writing all of it from an empty database, as a portal catching up
// does. Beside it (GroupIngest), the raw COPY rate of the same transaction rows into an empty
// transactions table, and the size of each table per million transactions. For GroupRules
// the same chain is synced a second time, into a second empty database with the rules behind
// the sync, and a third time without them, so that all figures come from the same blocks and
// the chain is built once; the databases before each are vacuumed first, so that autovacuum
// does not run during it.
func (s *scratch) ingest(ctx context.Context, cfg SyncConfig, dir string, want func(string) bool, progress func(string, ...any)) ([]Row, error) {
	c, g, err := newBenchChain(dir)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	progress("ingest: signing %d transactions", cfg.IngestTxs)
	tr, err := memchain.NewTraffic(memchain.TrafficConfig{Seed: benchSeed, ChainID: benchChain, Parties: ingestParties(cfg.IngestTxs), Txs: cfg.IngestTxs, FailEvery: 50})
	if err != nil {
		return nil, err
	}
	progress("ingest: executing them through the ledger app in blocks of %d", cfg.IngestPerBlock)
	if _, err := c.Run(tr, cfg.IngestPerBlock, benchGenesisTime, time.Second); err != nil {
		return nil, err
	}
	txs := len(tr.Load)
	for _, p := range tr.Setup {
		txs += len(p)
	}
	tr = memchain.Traffic{} // the chain holds the bytes it needs
	top := c.Height()

	db, err := s.db(ctx, "ingest")
	if err != nil {
		return nil, err
	}
	progress("ingest: syncing %d blocks, %d txs into PostgreSQL", top, txs)
	off, err := catchUp(ctx, c, db, g, top, false)
	if err != nil {
		return nil, err
	}
	var rows []Row
	if want(GroupIngest) {
		// Right after the catch-up, as before the rules group came: the raw COPY is timed too.
		if rows, err = s.ingestRows(ctx, db, off, txs, top, progress); err != nil {
			return nil, err
		}
	}
	if want(GroupRules) {
		progress("rules: syncing the same %d blocks into a second database with the rules behind the sync", top)
		on, err := s.syncAgain(ctx, c, g, top, "rules", true)
		if err != nil {
			return nil, fmt.Errorf("with the rules: %w", err)
		}
		// The same sync without the rules once more, after the one with them: two syncs of
		// the same blocks in a row measured 3.4 and 4.4 s apart with the rules off in both,
		// so the baseline brackets the run with the rules rather than only preceding it.
		progress("rules: syncing the same %d blocks into a third database without the rules, for the baseline after", top)
		again, err := s.syncAgain(ctx, c, g, top, "again", false)
		if err != nil {
			return nil, fmt.Errorf("the baseline after: %w", err)
		}
		r, err := rulesRows(ctx, []*catchUpRun{off, again}, on, txs, top)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r...)
	}
	c.Drop(top + 1) // the rows are in PostgreSQL now; free the blocks
	return rows, nil
}

// syncAgain settles the databases so far and times another catch-up of c, into a new
// database named after the measure, with or without the rules behind it.
func (s *scratch) syncAgain(ctx context.Context, c *memchain.Chain, g store.Genesis, top int64, name string, rules bool) (*catchUpRun, error) {
	if err := s.settle(ctx); err != nil {
		return nil, err
	}
	db, err := s.db(ctx, name)
	if err != nil {
		return nil, err
	}
	return catchUp(ctx, c, db, g, top, rules)
}

// ingestRows are the catch-up figure without the rules, the raw COPY beside it, and the table
// sizes the catch-up left in db.
func (s *scratch) ingestRows(ctx context.Context, db *store.DB, off *catchUpRun, txs int, top int64, progress func(string, ...any)) ([]Row, error) {
	var legs, stored, changes, chunks int64
	if err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM transfer_legs), (SELECT count(*) FROM settlement_legs),
		(SELECT coalesce(sum(cardinality(heights)), 0) FROM balance_chunks), (SELECT count(*) FROM balance_chunks)`).Scan(&legs, &stored, &changes, &chunks); err != nil {
		return nil, fmt.Errorf("count rows: %w", err)
	}
	elapsed := off.elapsed
	rows := []Row{{
		Name: "catch-up ingest (ledgersync, COPY)", Value: off.rate(txs), Unit: "tx/s", Goal: 100_000,
		Note: fmt.Sprintf("%d txs in %d blocks with %d legs (%d not a transfer's, stored apart) and %d balance changes (in %d chunks) from an empty database in %.1f s: %.0f rows/s, %d write transactions",
			txs, top, legs, stored, changes, chunks, elapsed.Seconds(), float64(off.sync.Rows)/elapsed.Seconds(), off.sync.Batches),
	}}

	progress("ingest: raw COPY of the same transaction rows")
	cp, err := s.rawCopy(ctx, db)
	if err != nil {
		return nil, err
	}
	rows = append(rows, cp)

	sizes, err := tableSizes(ctx, db, txs)
	if err != nil {
		return nil, err
	}
	return append(rows, sizes...), nil
}

// rawCopy reads the synced transaction rows back (not timed) and writes them into an empty
// database's transactions table, indexes and all, in one COPY: the ceiling of one stream.
func (s *scratch) rawCopy(ctx context.Context, from *store.DB) (Row, error) {
	cols := []string{"block_time", "height", "idx", "hash", "type", "signer", "member", "nonce", "asset", "amount", "counterparty", "code", "reason", "memo"}
	res, err := from.Pool.Query(ctx, "SELECT block_time, height, idx, hash, type, signer, member, nonce, asset, amount, counterparty, code, reason, memo FROM transactions ORDER BY height, idx LIMIT $1", maxCopyRows)
	if err != nil {
		return Row{}, fmt.Errorf("read transactions: %w", err)
	}
	var rows [][]any
	for res.Next() {
		v, err := res.Values()
		if err != nil {
			res.Close()
			return Row{}, fmt.Errorf("read transactions: %w", err)
		}
		rows = append(rows, v)
	}
	res.Close()
	if err := res.Err(); err != nil {
		return Row{}, fmt.Errorf("read transactions: %w", err)
	}
	if len(rows) == 0 {
		return Row{}, fmt.Errorf("read transactions: %w", errNoRows)
	}
	to, err := s.db(ctx, "copy")
	if err != nil {
		return Row{}, err
	}
	first, last := rows[0][0].(time.Time), rows[len(rows)-1][0].(time.Time)
	if _, err := to.Pool.Exec(ctx, "SELECT ensure_month_partitions($1, $2)", first, last); err != nil {
		return Row{}, fmt.Errorf("partitions: %w", err)
	}
	start := time.Now()
	n, err := to.Pool.CopyFrom(ctx, pgx.Identifier{"transactions"}, cols, pgx.CopyFromRows(rows))
	if err != nil {
		return Row{}, fmt.Errorf("copy: %w", err)
	}
	elapsed := time.Since(start)
	return Row{Name: "  raw COPY, transaction rows", Value: float64(n) / elapsed.Seconds(), Unit: "rows/s",
		Note: fmt.Sprintf("%d of the same rows in one pgx COPY into the indexed, partitioned table", n)}, nil
}

// sizedTables are the tables whose size per million transactions the bench prints.
var sizedTables = []string{"transactions", "settlement_legs", "balance_chunks", "balances", "daily_rollups", "blocks"}

// tableSizes reads each table's size with its indexes and partitions, per million txs.
func tableSizes(ctx context.Context, db *store.DB, txs int) ([]Row, error) {
	if _, err := db.Pool.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		return nil, fmt.Errorf("vacuum: %w", err)
	}
	per := float64(txs) / 1e6
	var rows []Row
	var sum float64
	for _, t := range sizedTables {
		var bytes, n int64
		// A partitioned table has no storage of its own: its size is its partitions'.
		q := fmt.Sprintf(`SELECT (pg_total_relation_size($1::regclass) + coalesce((SELECT sum(pg_total_relation_size(relid))
			FROM pg_partition_tree($1::regclass) WHERE relid <> $1::regclass), 0))::bigint, (SELECT count(*) FROM %s)`,
			pgx.Identifier{t}.Sanitize())
		if err := db.Pool.QueryRow(ctx, q, t).Scan(&bytes, &n); err != nil {
			return nil, fmt.Errorf("size of %s: %w", t, err)
		}
		mib := float64(bytes) / (1 << 20) / per
		sum += mib
		rows = append(rows, Row{Name: "  size per 1M txs: " + t, Value: mib, Unit: "MiB",
			Note: fmt.Sprintf("%.0f rows per 1M txs, with indexes", float64(n)/per)})
	}
	return append([]Row{{Name: "table size per 1M txs", Value: sum, Unit: "MiB", Note: "the tables below, indexes included, after the catch-up above"}}, rows...), nil
}
