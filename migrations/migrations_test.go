package migrations_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/ledgerscope/ledgerscope/migrations"
	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func open(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Config{URL: pgtest.URL(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// TestUpDownUp applies every migration, rolls each back, and applies them again: each down
// step undoes its up step exactly.
func TestUpDownUp(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	log := slog.New(slog.DiscardHandler)
	n, err := migrations.Up(ctx, db.SQL(), log)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := migrations.FS.ReadDir(".")
	sqlFiles := 0
	for _, f := range files {
		if !f.IsDir() && len(f.Name()) > 4 && f.Name()[len(f.Name())-4:] == ".sql" {
			sqlFiles++
		}
	}
	if n != sqlFiles {
		t.Fatalf("applied %d, want %d", n, sqlFiles)
	}
	if n, err := migrations.Up(ctx, db.SQL(), log); err != nil || n != 0 {
		t.Fatalf("second up: %d, %v", n, err)
	}
	st, err := migrations.Statuses(ctx, db.SQL())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if !s.Applied {
			t.Errorf("%s not applied", s.Name)
		}
	}
	tablesUp := countTables(t, db)
	for i := 0; i < sqlFiles; i++ {
		ok, err := migrations.Down(ctx, db.SQL(), log)
		if err != nil || !ok {
			t.Fatalf("down %d: %v %v", i, ok, err)
		}
	}
	if ok, err := migrations.Down(ctx, db.SQL(), log); err != nil || ok {
		t.Fatalf("down past the first: %v %v", ok, err)
	}
	if n := countTables(t, db); n != 0 {
		t.Fatalf("%d tables left after all downs", n)
	}
	if _, err := migrations.Up(ctx, db.SQL(), log); err != nil {
		t.Fatal(err)
	}
	if n := countTables(t, db); n != tablesUp {
		t.Fatalf("%d tables after up again, want %d", n, tablesUp)
	}
}

// countTables counts our tables, partitions excluded, goose's own excluded.
func countTables(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
		WHERE s.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname <> 'goose_db_version'`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEveryTableAndColumnHasComment keeps the schema documented where psql users see it.
func TestEveryTableAndColumnHasComment(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	if _, err := migrations.Up(ctx, db.SQL(), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Pool.Query(ctx, `
		SELECT c.relname, coalesce(a.attname, '')
		FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
		LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE s.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
		  AND c.relname <> 'goose_db_version'
		  AND (obj_description(c.oid, 'pg_class') IS NULL
		       OR (a.attname IS NOT NULL AND col_description(c.oid, a.attnum) IS NULL))`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		t.Errorf("no comment on %s.%s", table, col)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestNoFloatColumns: amounts are integers in the smallest unit, never floats.
func TestNoFloatColumns(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	if _, err := migrations.Up(ctx, db.SQL(), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns
		WHERE table_schema = 'public' AND data_type IN ('real', 'double precision')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d float columns", n)
	}
}

// TestLeanIndexesDuringLoad applies 00011 while an initial load has the indexes it replaces
// set aside: it builds neither but changes what the load will build, and the rebuild makes
// the new ones.
func TestLeanIndexesDuringLoad(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	log := slog.New(slog.DiscardHandler)
	if _, err := migrations.Up(ctx, db.SQL(), log); err != nil {
		t.Fatal(err)
	}
	if ok, err := migrations.Down(ctx, db.SQL(), log); err != nil || !ok {
		t.Fatalf("down from 00011: %v %v", ok, err)
	}
	if _, err := db.DeferIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := migrations.Up(ctx, db.SQL(), log); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"transactions_member_asset_idx": "hashtext(member), hashtext(asset)",
		"transactions_type_height_idx":  "type <> 'transfer'",
	}
	for name, part := range want {
		var exists bool
		if err := db.Pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", name).Scan(&exists); err != nil || exists {
			t.Errorf("%s built during the load: %v %v", name, exists, err)
		}
		var def string
		if err := db.Pool.QueryRow(ctx, "SELECT definition FROM deferred_indexes WHERE name = $1", name).Scan(&def); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(def, part) {
			t.Errorf("%s will be built as %q, want it with %q", name, def, part)
		}
	}
	if _, err := db.RestoreIndexes(ctx, log, nil); err != nil {
		t.Fatal(err)
	}
	for name, part := range want {
		var def string
		if err := db.Pool.QueryRow(ctx, "SELECT pg_get_indexdef($1::regclass)", name).Scan(&def); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(def, part) {
			t.Errorf("%s is %q, want it with %q", name, def, part)
		}
	}
}
