// Package store is LedgerScope's PostgreSQL data layer: gorm models mapped onto the schema
// that package migrations defines, the queries the portal and the tools run, and the bulk
// writer that ledgersync commits blocks through. One file per aggregate.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	gormlogger "gorm.io/gorm/logger"
)

// Sentinel errors; callers test them with errors.Is and map them to statuses.
var (
	// ErrNotFound means the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalid means the request itself is wrong (a bad filter, a limit out of range).
	ErrInvalid = errors.New("invalid request")
	// ErrConflict means the write contradicts what is stored (another chain, a gap).
	ErrConflict = errors.New("conflict")
	// ErrDivergence means a block at a stored height has another hash: the chain and the
	// database disagree, and nothing may be overwritten.
	ErrDivergence = errors.New("block hash differs from the stored block")
)

// Defaults and bounds of Config.
const (
	DefaultMaxConns     = 8
	DefaultMaxRetries   = 5
	DefaultQueryTimeout = 30 * time.Second
	maxRetryBackoff     = time.Second
)

// Config configures Open.
type Config struct {
	// URL is the PostgreSQL connection URL.
	URL string
	// MaxConns bounds the pool.
	MaxConns int32
	// MaxRetries bounds how often Transact reruns a transaction that hit a serialization
	// failure or deadlock.
	MaxRetries int
	// SlowQuery is logged at warn level when a gorm query takes longer; 0 means 1 s.
	SlowQuery time.Duration
	// Logger receives slow queries and retries; nil discards.
	Logger *slog.Logger
}

// DB is an open database: gorm for mapped rows, and the pgx pool under it for COPY.
type DB struct {
	// Gorm maps rows; it shares the pool.
	Gorm *gorm.DB
	// Pool is the pgx pool, for COPY and batched writes.
	Pool *pgxpool.Pool
	sql  *sql.DB
	cfg  Config
	log  *slog.Logger

	partMu      sync.Mutex
	months      map[int64]bool // months (unix seconds of their start) whose partitions exist
	auditMonths map[int64]bool // the same, of audit_log
}

// Open connects to the database and checks that it answers. It does not migrate.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = DefaultMaxRetries
	}
	if cfg.SlowQuery <= 0 {
		cfg.SlowQuery = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	pcfg.MaxConns = cfg.MaxConns
	pcfg.ConnConfig.ConnectTimeout = 10 * time.Second
	pcfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	// The planner's JIT compiles a query it costs as large before running it: the rules'
	// range reads are, and the compile took a third of some of them (190 ms of 620) for
	// nothing won back. A URL that sets jit keeps its own.
	if _, set := pcfg.ConnConfig.RuntimeParams["jit"]; !set {
		pcfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	g, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
		Logger: gormlogger.NewSlogLogger(cfg.Logger, gormlogger.Config{
			SlowThreshold: cfg.SlowQuery, LogLevel: gormlogger.Warn, IgnoreRecordNotFoundError: true,
		}),
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open gorm: %w", err)
	}
	return &DB{Gorm: g, Pool: pool, sql: sqlDB, cfg: cfg, log: cfg.Logger, months: map[int64]bool{}, auditMonths: map[int64]bool{}}, nil
}

// SQL is the database/sql handle on the same pool, for the migration library.
func (db *DB) SQL() *sql.DB { return db.sql }

// Close closes the pool.
func (db *DB) Close() {
	_ = db.sql.Close()
	db.Pool.Close()
}

// Transact runs fn in a gorm transaction and commits it, rerunning the whole of fn when
// PostgreSQL reports a serialization failure or a deadlock, at most MaxRetries times. fn must
// be safe to run again: it must not keep effects outside the transaction.
func (db *DB) Transact(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return db.retry(ctx, func() error {
		return db.Gorm.WithContext(ctx).Transaction(fn)
	})
}

// TransactPgx is Transact on a raw pgx transaction, for COPY.
func (db *DB) TransactPgx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return db.retry(ctx, func() error {
		return pgx.BeginFunc(ctx, db.Pool, fn)
	})
}

func (db *DB) retry(ctx context.Context, run func() error) error {
	backoff := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := run()
		if err == nil || !IsRetryable(err) || attempt > db.cfg.MaxRetries {
			if err != nil && IsRetryable(err) {
				return fmt.Errorf("after %d attempts: %w", attempt, err)
			}
			return err
		}
		db.log.Warn("transaction retried", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("retry: %w", ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxRetryBackoff)
	}
}

// IsRetryable reports whether err is a serialization failure (40001) or a deadlock (40P01):
// the transaction lost a race and may succeed when run again.
func IsRetryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// notFound turns gorm's not-found error into ErrNotFound with context.
func notFound(err error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}
