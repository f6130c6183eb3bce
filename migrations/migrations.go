// Package migrations holds the schema of LedgerScope's PostgreSQL database as numbered SQL
// files with their up and down steps, embedded in the binary and applied with goose. These
// files are the only source of the schema: gorm maps rows onto it, it never defines it.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// FS is the embedded migration files.
//
//go:embed *.sql
var FS embed.FS

// Status is one migration and whether it is applied.
type Status struct {
	// Version is the file's number.
	Version int64
	// Name is the file name.
	Name string
	// Applied is true once the up step ran.
	Applied bool
}

// provider builds a goose provider that holds a PostgreSQL advisory lock while it works, so
// two processes starting at once do not both migrate.
func provider(db *sql.DB, log *slog.Logger) (*goose.Provider, error) {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithSessionLocker(locker)}
	if log != nil {
		opts = append(opts, goose.WithSlog(log))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, FS, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// Up applies every pending migration and returns how many it applied.
func Up(ctx context.Context, db *sql.DB, log *slog.Logger) (int, error) {
	p, err := provider(db, log)
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrate up: %w", err)
	}
	return len(res), nil
}

// Down rolls back the latest applied migration. It reports false when none was applied.
func Down(ctx context.Context, db *sql.DB, log *slog.Logger) (bool, error) {
	p, err := provider(db, log)
	if err != nil {
		return false, err
	}
	if _, err := p.Down(ctx); err != nil {
		if err == goose.ErrNoNextVersion {
			return false, nil
		}
		return false, fmt.Errorf("migrate down: %w", err)
	}
	return true, nil
}

// DownTo rolls back every applied migration above version and returns how many it rolled
// back.
func DownTo(ctx context.Context, db *sql.DB, version int64, log *slog.Logger) (int, error) {
	p, err := provider(db, log)
	if err != nil {
		return 0, err
	}
	res, err := p.DownTo(ctx, version)
	if err != nil {
		return len(res), fmt.Errorf("migrate down to %d: %w", version, err)
	}
	return len(res), nil
}

// Statuses lists every migration in order with whether it is applied.
func Statuses(ctx context.Context, db *sql.DB) ([]Status, error) {
	p, err := provider(db, nil)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]Status, len(st))
	for i, s := range st {
		out[i] = Status{Version: s.Source.Version, Name: s.Source.Path, Applied: s.State == goose.StateApplied}
	}
	return out, nil
}
