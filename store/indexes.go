package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"
)

// DeferrableTables are the tables whose secondary indexes an initial load sets aside: the
// time-ordered history, written at several rows per transaction, and the current holdings
// and settlements, rewritten at every batch. Their primary keys stay, but for
// DeferrablePrimaryKeys': the upserts of settlements and balances need theirs.
var DeferrableTables = []string{"transactions", "settlement_legs", "balance_chunks", "balances", "settlements"}

// DeferrablePrimaryKeys are the tables whose primary key an initial load sets aside too: the
// load only appends to them, with COPY, and nothing it runs reads through their keys. The
// balance history's key leads with the account and is maintained in random order, as
// costly as any secondary index. The time-ordered keys of the other two are appended to in
// order, yet even that took 40% of a COPY's rate (measured: 687k rows/s of 366-byte rows
// into a bare table, 424k with a primary key), while building them afterwards from rows
// already in key order is a short sort. The trim after a crash still finds its rows without
// them: it is bounded to the partitions at or after the cursor's block time.
var DeferrablePrimaryKeys = []string{"balance_chunks", "transactions", "settlement_legs"}

// DefaultIndexBuildMemory is the maintenance_work_mem an index rebuild asks for: enough to
// sort a few million keys in memory, small beside the machine's.
const DefaultIndexBuildMemory = "256MB"

// BalancesRebuild is the deferred_indexes entry that stands for the current holdings: while
// it is there, WriteBlocks leaves the balances table alone, and RestoreIndexes writes it
// (see there). Measured on a load of 1M txs among 10k accounts: upserting every changed
// holding at every batch took 0.65 s per 100k txs, a tenth of the load.
const BalancesRebuild = "balances_rebuild"

// TablesAnalyze is the deferred_indexes entry that stands for the statistics of the loaded
// tables: RestoreIndexes gathers them once every other entry is rebuilt, and removes it
// last, so that whoever waits for no deferred entry (the compliance rules) plans its first
// queries with them. The rules once started while the ANALYZE ran, planned on tables their
// planner took for empty, and their first pass took twice as long.
const TablesAnalyze = "tables_analyze"

// balancesRebuildSQL writes every holding's last change into balances, from its last
// chunk. Rows already there from before the load was deferred are overwritten only by later
// ones.
const balancesRebuildSQL = `INSERT INTO balances (account, asset, amount, locked, height)
	SELECT DISTINCT ON (account, asset) account, asset, amounts[cardinality(amounts)], locked[cardinality(locked)], last_height
	FROM balance_chunks ORDER BY account, asset, height DESC
	ON CONFLICT (account, asset) DO UPDATE SET amount = EXCLUDED.amount, locked = EXCLUDED.locked, height = EXCLUDED.height
	WHERE balances.height <= EXCLUDED.height`

// DeferIndexes drops the secondary indexes of DeferrableTables and the primary keys of
// DeferrablePrimaryKeys, recording each one's definition in deferred_indexes so that
// RestoreIndexes (after a crash too) rebuilds it, sets the balances table aside
// (BalancesRebuild) and their statistics (TablesAnalyze). It is for an initial load into an
// empty database: queries on those tables scan and the holdings are stale until the
// rebuild, and the compliance rules wait for it. Deferring twice is harmless; it returns how
// many entries it recorded, the balances and statistics ones included.
func (db *DB) DeferIndexes(ctx context.Context) (int, error) {
	n := 0
	err := db.TransactPgx(ctx, func(tx pgx.Tx) error {
		n = 0
		// Each index as the statement that drops it and the one that builds it again, for
		// the secondary indexes and the primary keys alike.
		rows, err := tx.Query(ctx, `SELECT i.relname, t.relname, 'DROP INDEX ' || quote_ident(i.relname), pg_get_indexdef(i.oid)
			FROM pg_index x
			JOIN pg_class i ON i.oid = x.indexrelid
			JOIN pg_class t ON t.oid = x.indrelid
			WHERE t.relname = ANY($1) AND t.relnamespace = current_schema()::regnamespace
			  AND NOT x.indisprimary AND NOT t.relispartition
			UNION ALL
			SELECT c.conname, t.relname,
				'ALTER TABLE ' || quote_ident(t.relname) || ' DROP CONSTRAINT ' || quote_ident(c.conname),
				'ALTER TABLE ' || quote_ident(t.relname) || ' ADD CONSTRAINT ' || quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid)
			FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
			WHERE c.contype = 'p' AND t.relname = ANY($2) AND t.relnamespace = current_schema()::regnamespace
			ORDER BY 1`, DeferrableTables, DeferrablePrimaryKeys)
		if err != nil {
			return fmt.Errorf("list indexes: %w", err)
		}
		type index struct{ name, table, drop, create string }
		idx, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (index, error) {
			var i index
			return i, r.Scan(&i.name, &i.table, &i.drop, &i.create)
		})
		if err != nil {
			return fmt.Errorf("list indexes: %w", err)
		}
		for _, i := range idx {
			if _, err := tx.Exec(ctx, `INSERT INTO deferred_indexes (name, table_name, definition) VALUES ($1, $2, $3)`,
				i.name, i.table, parentIndexDef(i.create)); err != nil {
				return fmt.Errorf("record index %s: %w", i.name, err)
			}
			if _, err := tx.Exec(ctx, i.drop); err != nil {
				return fmt.Errorf("drop index %s: %w", i.name, err)
			}
			n++
		}
		if n == 0 {
			return nil // deferred already
		}
		if _, err := tx.Exec(ctx, `INSERT INTO deferred_indexes (name, table_name, definition) VALUES ($1, 'balances', $2)`,
			BalancesRebuild, balancesRebuildSQL); err != nil {
			return fmt.Errorf("record balances rebuild: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO deferred_indexes (name, table_name, definition) VALUES ($1, '', $2)`,
			TablesAnalyze, "ANALYZE "+strings.Join(deferrableIdents(), ", ")); err != nil {
			return fmt.Errorf("record analyze: %w", err)
		}
		n += 2
		return nil
	})
	return n, err
}

// parentIndexDef turns the definition PostgreSQL gives for a partitioned table's index
// ("ON ONLY t", which would build it on the parent alone) into one that builds it on every
// partition too.
func parentIndexDef(def string) string {
	return strings.Replace(def, " ON ONLY ", " ON ", 1)
}

// DeferredIndexes counts the entries set aside and not yet rebuilt, the balances and
// statistics ones included.
func (db *DB) DeferredIndexes(ctx context.Context) (int, error) {
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM deferred_indexes").Scan(&n); err != nil {
		return 0, fmt.Errorf("count deferred indexes: %w", err)
	}
	return n, nil
}

// RestoreIndexes rebuilds every deferred index and the balances, each with its record's
// removal in one transaction, so that a rebuild cut short resumes with what is left, then
// gathers the tables' statistics and removes TablesAnalyze. An index build locks its table
// against writes (not reads) while it runs. It returns how many entries it rebuilt, the
// statistics one included.
//
// The builds run on RestoreWorkers connections at once: each sorts on one core, and on two
// the restore of a 1M-transaction load took 18 s one at a time. The entries are taken
// in turn across tables, so that two builds on one table, of which a primary key's holds
// the table exclusively and makes the other wait, start apart.
//
// held, when not nil, is the latest change of every holding changed since DeferIndexes, as
// the writer of the load kept them; the balances are then written from it rather than from
// a pass over the whole history (measured 4.9 s for 1.9M history rows; 30k holdings
// written, 0.6 s). Nil, after a restart say, the history is read.
func (db *DB) RestoreIndexes(ctx context.Context, log *slog.Logger, held []BalanceChange) (int, error) {
	if log == nil {
		log = db.log
	}
	var built atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for range RestoreWorkers {
		g.Go(func() error {
			n, err := db.restoreSome(gctx, log, held)
			built.Add(int64(n))
			return err
		})
	}
	err := g.Wait()
	n := int(built.Load())
	if err != nil {
		return n, err
	}
	var pending bool
	if err := db.Pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM deferred_indexes WHERE name = $1)", TablesAnalyze).Scan(&pending); err != nil {
		return n, fmt.Errorf("analyze after the load: %w", err)
	}
	// A load deferred before the entry existed has none: its rebuild still analyzes.
	if !pending && n == 0 {
		return 0, nil
	}
	if err := db.analyzeLoaded(ctx, log); err != nil {
		return n, err
	}
	if pending {
		n++
	}
	return n, nil
}

// analyzeLoaded gathers the statistics of DeferrableTables, a table per connection on
// RestoreWorkers at once, then removes TablesAnalyze. Tables loaded in bulk have no
// statistics until autovacuum comes round, and the planner would take them for empty: the
// rules' first queries then chose nested loops that took twenty times as long.
func (db *DB) analyzeLoaded(ctx context.Context, log *slog.Logger) error {
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(RestoreWorkers)
	for _, t := range deferrableIdents() {
		g.Go(func() error {
			if _, err := db.Pool.Exec(gctx, "ANALYZE "+t); err != nil {
				return fmt.Errorf("analyze %s after the load: %w", t, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if _, err := db.Pool.Exec(ctx, "DELETE FROM deferred_indexes WHERE name = $1", TablesAnalyze); err != nil {
		return fmt.Errorf("analyze after the load: %w", err)
	}
	log.Info("tables analyzed", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// deferrableIdents are DeferrableTables quoted for SQL.
func deferrableIdents() []string {
	out := make([]string, len(DeferrableTables))
	for i, t := range DeferrableTables {
		out[i] = pgx.Identifier{t}.Sanitize()
	}
	return out
}

// RestoreWorkers is how many connections RestoreIndexes builds on at once.
const RestoreWorkers = 2

// restoreSome rebuilds deferred entries on one connection until none is left that another
// connection has not taken, and returns how many it rebuilt.
func (db *DB) restoreSome(ctx context.Context, log *slog.Logger, held []BalanceChange) (int, error) {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("rebuild indexes: %w", err)
	}
	defer conn.Release()
	built := 0
	for {
		var name, def string
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			err := tx.QueryRow(ctx, `SELECT name, definition FROM deferred_indexes d WHERE name <> $1
				ORDER BY (SELECT count(*) FROM deferred_indexes o WHERE o.table_name = d.table_name AND o.name < d.name), name
				LIMIT 1 FOR UPDATE SKIP LOCKED`, TablesAnalyze).Scan(&name, &def)
			if err != nil {
				return err
			}
			// Session settings scoped to this transaction: a build sorts in memory and may
			// take longer than any query should.
			if _, err := tx.Exec(ctx, "SET LOCAL maintenance_work_mem = '"+DefaultIndexBuildMemory+"'"); err != nil {
				return fmt.Errorf("index build memory: %w", err)
			}
			if _, err := tx.Exec(ctx, "SET LOCAL statement_timeout = 0"); err != nil {
				return fmt.Errorf("index build timeout: %w", err)
			}
			start := time.Now()
			if name == BalancesRebuild && held != nil {
				if err := writeBalances(ctx, tx, held, true); err != nil {
					return fmt.Errorf("rebuild %s: %w", name, err)
				}
			} else if _, err := tx.Exec(ctx, def); err != nil {
				return fmt.Errorf("rebuild %s: %w", name, err)
			}
			if _, err := tx.Exec(ctx, "DELETE FROM deferred_indexes WHERE name = $1", name); err != nil {
				return fmt.Errorf("rebuild index %s: %w", name, err)
			}
			log.Info("index rebuilt", "index", name, "took", time.Since(start).Round(time.Millisecond))
			return nil
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return built, nil
		}
		if err != nil {
			return built, err
		}
		built++
	}
}
