package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/ledgersync"
	"github.com/ledgerscope/ledgerscope/ledgersync/memchain"
	"github.com/ledgerscope/ledgerscope/migrations"
	"github.com/ledgerscope/ledgerscope/pgserver"
	"github.com/ledgerscope/ledgerscope/store"
)

// SyncConfig sizes the ledgersync figures: catch-up ingest with and without the rules, live
// lag, the portal's queries on a large database, table sizes, and a backtest of a rule.
type SyncConfig struct {
	// DatabaseURL names the server to create scratch databases on (DATABASE_URL); empty
	// finds one as the binary does: 127.0.0.1:5432, else a private cluster in PGDir.
	DatabaseURL string
	PGDir       string
	// IngestTxs is how many load txs the catch-up figure syncs; IngestPerBlock how many go in
	// a block.
	IngestTxs, IngestPerBlock int
	// LiveRate is the tx/s the live figure commits, in a block every LiveBlock, for LiveFor.
	LiveRate  int
	LiveBlock time.Duration
	LiveFor   time.Duration
	// QueryTxs is how many synthetic transactions the query figures load; QueryRuns how many
	// times each query runs.
	QueryTxs, QueryRuns int
	// BacktestTxs is how many synthetic transactions the backtest figure loads, spread over
	// BacktestDays days of block time, all of which the backtest covers.
	BacktestTxs, BacktestDays int
}

// DefaultSyncConfig finishes in a few minutes on a 2-core machine.
func DefaultSyncConfig() SyncConfig {
	return SyncConfig{
		DatabaseURL: os.Getenv("DATABASE_URL"), PGDir: pgserver.DefaultDir,
		IngestTxs: 1_000_000, IngestPerBlock: 5000,
		LiveRate: 5000, LiveBlock: time.Second, LiveFor: 40 * time.Second,
		QueryTxs: 10_000_000, QueryRuns: 300,
		BacktestTxs: 10_000_000, BacktestDays: 30,
	}
}

// Limits that keep a mistyped flag from filling the disk or the memory.
const (
	maxIngestTxs = 20_000_000
	maxQueryTxs  = 200_000_000
	// minBacktestTxs keeps at least a block per market day of the window.
	minBacktestTxs  = 10_000
	maxBacktestTxs  = 200_000_000
	maxBacktestDays = 366
)

func (c SyncConfig) validate() error {
	switch {
	case c.IngestTxs < 1 || c.IngestTxs > maxIngestTxs:
		return fmt.Errorf("ingest txs %d, want 1 to %d", c.IngestTxs, maxIngestTxs)
	case c.IngestPerBlock < 1 || c.IngestPerBlock > 100_000:
		return fmt.Errorf("ingest txs per block %d, want 1 to 100000", c.IngestPerBlock)
	case c.LiveRate < 1 || c.LiveBlock < 10*time.Millisecond || c.LiveFor < c.LiveBlock || c.LiveFor > time.Hour:
		return fmt.Errorf("live rate %d every %s for %s: want a positive rate, blocks of at least 10ms, at most an hour", c.LiveRate, c.LiveBlock, c.LiveFor)
	case c.QueryTxs < 100_000 || c.QueryTxs > maxQueryTxs:
		return fmt.Errorf("query txs %d, want 100000 to %d", c.QueryTxs, maxQueryTxs)
	case c.QueryRuns < 10 || c.QueryRuns > 100_000:
		return fmt.Errorf("query runs %d, want 10 to 100000", c.QueryRuns)
	case c.BacktestTxs < minBacktestTxs || c.BacktestTxs > maxBacktestTxs:
		return fmt.Errorf("backtest txs %d, want %d to %d", c.BacktestTxs, minBacktestTxs, maxBacktestTxs)
	case c.BacktestDays < 1 || c.BacktestDays > maxBacktestDays:
		return fmt.Errorf("backtest days %d, want 1 to %d", c.BacktestDays, maxBacktestDays)
	}
	return nil
}

// Bench groups of the ledgersync figures, for Config.Only.
const (
	GroupIngest = "ingest"
	GroupLive   = "live"
	GroupQuery  = "query"
	// GroupRules syncs the ingest chain again with the compliance rules behind the sync.
	GroupRules = "rules"
	// GroupBacktest backtests one rule over a large synthetic history.
	GroupBacktest = "backtest"
)

// SyncRows measures the ledgersync figures that want selects (by group name): catch-up ingest
// beside raw COPY and the table sizes it leaves (GroupIngest), the same catch-up with the rules
// behind it and what they cost (GroupRules), live lag (GroupLive), the keyset and rollup
// queries on a large database (GroupQuery) and a 30-day backtest of a rule (GroupBacktest).
// Each measure uses scratch databases of its own on the server, dropped afterwards, and dir
// for the chains it builds.
func SyncRows(ctx context.Context, cfg SyncConfig, dir string, want func(group string) bool, progress func(string, ...any)) ([]Row, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("sync bench: %w", err)
	}
	srv, err := pgserver.Discover(ctx, pgserver.Config{URL: cfg.DatabaseURL, Dir: cfg.PGDir, Logger: quietLogger()})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	s := &scratch{admin: srv.URL}
	defer s.dropAll()
	var rows []Row
	if want(GroupIngest) || want(GroupRules) {
		r, err := s.ingest(ctx, cfg, filepath.Join(dir, "ingest"), want, progress)
		if err != nil {
			return nil, fmt.Errorf("catch-up ingest: %w", err)
		}
		rows = append(rows, r...)
	}
	if want(GroupLive) {
		r, err := s.live(ctx, cfg, filepath.Join(dir, "live"), progress)
		if err != nil {
			return nil, fmt.Errorf("live lag: %w", err)
		}
		rows = append(rows, r)
	}
	if want(GroupQuery) {
		r, err := s.queries(ctx, cfg, progress)
		if err != nil {
			return nil, fmt.Errorf("queries: %w", err)
		}
		rows = append(rows, r...)
	}
	if want(GroupBacktest) {
		r, err := s.backtest(ctx, cfg, progress)
		if err != nil {
			return nil, fmt.Errorf("backtest: %w", err)
		}
		rows = append(rows, r...)
	}
	return rows, nil
}

// scratch creates migrated databases for the measures and drops them all at the end.
type scratch struct {
	admin   string
	created []string
	open    []*store.DB
}

// db creates, migrates and opens a database named after the measure.
func (s *scratch) db(ctx context.Context, name string) (*store.DB, error) {
	name = fmt.Sprintf("lsbench_%s_%d", name, os.Getpid())
	if err := adminExec(ctx, s.admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return nil, err
	}
	s.created = append(s.created, name)
	u, err := pgserver.WithDatabase(s.admin, name)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, store.Config{URL: u, Logger: quietLogger()})
	if err != nil {
		return nil, err
	}
	s.open = append(s.open, db)
	if _, err := migrations.Up(ctx, db.SQL(), slog.New(slog.DiscardHandler)); err != nil {
		return nil, err
	}
	return db, nil
}

// settle vacuums and analyzes every scratch database so far, so that autovacuum does not take
// them up during the next timed measure (on two cores it would take one from the measure),
// and checkpoints.
func (s *scratch) settle(ctx context.Context) error {
	for _, db := range s.open {
		if _, err := db.Pool.Exec(ctx, "VACUUM ANALYZE"); err != nil {
			return fmt.Errorf("vacuum: %w", err)
		}
	}
	// The run before left ~1.5 GB of WAL and dirty pages behind: without a checkpoint now,
	// the next run may pay for flushing them.
	if len(s.open) > 0 {
		if _, err := s.open[0].Pool.Exec(ctx, "CHECKPOINT"); err != nil {
			fmt.Fprintf(os.Stderr, "bench: checkpoint before the next run not allowed (%v): it may pay for the writes of the one before\n", err)
		}
	}
	return nil
}

// dropAll drops the scratch databases, unless BENCH_KEEP_DB is set: then it names them, to
// look into a measure's tables afterwards.
func (s *scratch) dropAll() {
	for _, db := range s.open {
		db.Close()
	}
	if os.Getenv("BENCH_KEEP_DB") != "" {
		fmt.Fprintf(os.Stderr, "bench: kept databases %s (drop them by hand)\n", strings.Join(s.created, ", "))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, name := range s.created {
		if err := adminExec(ctx, s.admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		}
	}
}

func adminExec(ctx context.Context, url, q string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("connect to the server: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, q); err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	return nil
}

const benchSeed, benchChain = "bench-sync", "ledgerscope-bench-sync"

var benchGenesisTime = time.Date(2026, 11, 2, 1, 30, 0, 0, time.UTC)

func newBenchChain(dir string) (*memchain.Chain, store.Genesis, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, store.Genesis{}, err
	}
	c, err := memchain.New(memchain.Config{Dir: dir, ChainID: benchChain, Genesis: ledger.DemoGenesis(benchSeed), GenesisTime: benchGenesisTime})
	if err != nil {
		return nil, store.Genesis{}, err
	}
	g, err := ledgersync.GenesisRows(benchChain, benchGenesisTime, ledger.DemoGenesis(benchSeed))
	if err != nil {
		c.Close()
		return nil, store.Genesis{}, err
	}
	return c, g, nil
}

// worker runs a ledgersync worker in the background; stop ends it and returns its error.
type worker struct {
	w    *ledgersync.Worker
	stop func() error
}

func startWorker(ctx context.Context, src *memchain.Chain, db *store.DB, g store.Genesis) (*worker, error) {
	w, err := ledgersync.New(ledgersync.Config{Source: src, DB: db, Genesis: g, Logger: quietLogger()})
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	return &worker{w: w, stop: func() error { cancel(); return <-done }}, nil
}

// waitSynced polls the worker until its cursor reaches h; each height's arrival time goes to
// seen, when given. It fails on a halt or after timeout.
func (w *worker) waitSynced(ctx context.Context, h int64, timeout time.Duration, seen func(h int64, at time.Time)) error {
	deadline := time.Now().Add(timeout)
	var last int64
	for {
		m := w.w.Metrics()
		if seen != nil && m.SyncedHeight > last {
			now := time.Now()
			for k := last + 1; k <= m.SyncedHeight; k++ {
				seen(k, now)
			}
		}
		last = max(last, m.SyncedHeight)
		// An initial load has finished once its indexes are rebuilt too.
		if last >= h && m.DeferredIndexes == 0 {
			return nil
		}
		if m.Halted {
			return fmt.Errorf("sync halted: %s", m.HaltReason)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("synced %d of %d within %s; last error %q", last, h, timeout, m.LastError)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// percentile is the p-th percentile (0 < p ≤ 1) of the samples, nearest rank.
func percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

var errNoRows = errors.New("no rows")

// pick is a seeded choice, so runs query the same things.
func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }
