// Package pgtest gives tests a real PostgreSQL database of their own. Main finds a server the
// way the binary does (DATABASE_URL, 127.0.0.1:5432, or a private cluster), migrates a template
// database once per test package, and drops it at the end; New clones the template for one
// test and drops the clone when the test ends. A server that keeps state between runs (CI's)
// so only ever sees uniquely named databases, and none are left behind.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ledgerscope/ledgerscope/migrations"
	"github.com/ledgerscope/ledgerscope/pgserver"
	"github.com/ledgerscope/ledgerscope/store"
)

// state is set by Main for the test package's process.
var state struct {
	adminURL string // the server's maintenance database
	template string // migrated template database name
	err      error  // why there is no database, reported by New
}

// Main runs a test package's tests with a server and a migrated template database; call it
// from TestMain. Without any server, every test that calls New fails with the reason.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	srv, dir, err := discover(ctx)
	if err != nil {
		state.err = err
		return m.Run()
	}
	defer os.RemoveAll(dir)
	defer srv.Close()
	state.adminURL = srv.URL
	state.template = uniqueName("tmpl")
	if err := createTemplate(ctx); err != nil {
		state.err = err
	}
	defer dropDatabase(context.Background(), state.template)
	return m.Run()
}

// discover finds the server; a private cluster lives in a temporary directory that the
// cluster's user can reach.
func discover(ctx context.Context) (*pgserver.Server, string, error) {
	cfg := pgserver.FromEnv()
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, "", fmt.Errorf("pgtest: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, "", fmt.Errorf("pgtest: %w", err)
	}
	cfg.Dir = filepath.Join(dir, "pg")
	srv, err := pgserver.Discover(ctx, cfg)
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	return srv, dir, nil
}

func createTemplate(ctx context.Context) error {
	if err := exec(ctx, fmt.Sprintf("CREATE DATABASE %s", pgx.Identifier{state.template}.Sanitize())); err != nil {
		return err
	}
	u, err := pgserver.WithDatabase(state.adminURL, state.template)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, store.Config{URL: u, MaxConns: 2})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := migrations.Up(ctx, db.SQL(), slog.New(slog.DiscardHandler)); err != nil {
		return err
	}
	return nil
}

// URL creates an empty database (no schema) for the test and returns its URL; it is dropped
// when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	return create(t, "template0")
}

// MigratedURL creates a migrated database for the test and returns its URL.
func MigratedURL(t testing.TB) string {
	t.Helper()
	return create(t, state.template)
}

// New creates a migrated database for the test and opens it; both are closed and dropped
// when the test ends.
func New(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Config{URL: MigratedURL(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func create(t testing.TB, template string) string {
	t.Helper()
	if state.err != nil {
		t.Fatalf("no test database: %v", state.err)
	}
	if state.adminURL == "" {
		t.Fatal("pgtest: call pgtest.Main from TestMain")
	}
	name := uniqueName(t.Name())
	ctx := context.Background()
	q := fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", pgx.Identifier{name}.Sanitize(), pgx.Identifier{template}.Sanitize())
	if err := exec(ctx, q); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dropDatabase(context.Background(), name); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	u, err := pgserver.WithDatabase(state.adminURL, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// AdminURL is the server's maintenance database, for tests that manage databases.
func AdminURL() string { return state.adminURL }

func dropDatabase(ctx context.Context, name string) error {
	return exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", pgx.Identifier{name}.Sanitize()))
}

func exec(ctx context.Context, q string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, state.adminURL)
	if err != nil {
		return fmt.Errorf("pgtest: connect: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, q); err != nil {
		return fmt.Errorf("pgtest: %s: %w", q, err)
	}
	return nil
}

// uniqueName is a database name for the test: readable, unique across runs, within
// PostgreSQL's 63-byte limit.
func uniqueName(test string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '_'
	}, test)
	if len(clean) > 32 {
		clean = clean[:32]
	}
	return fmt.Sprintf("lstest_%s_%d_%s", clean, os.Getpid(), hex.EncodeToString(b[:]))
}

// Checksum is a digest of a table's rows in a fixed order: two databases hold the same
// rows exactly when their checksums agree.
func Checksum(t testing.TB, db *store.DB, table string) string {
	t.Helper()
	var sum string
	q := fmt.Sprintf("SELECT md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '')) FROM %s r",
		pgx.Identifier{table}.Sanitize())
	if err := db.Pool.QueryRow(context.Background(), q).Scan(&sum); err != nil {
		t.Fatalf("checksum %s: %v", table, err)
	}
	return sum
}

// Tables are the tables ledgersync writes, for comparing databases table by table.
var Tables = []string{
	"members", "accounts", "assets", "blocks", "transactions", "settlement_legs", "transfer_legs", "balance_history",
	"balances", "settlements", "reserve_attestations", "supply_history", "daily_rollups",
}
