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

// renamed is names with settlement_legs and balance_chunks called by their names before
// 00012 and 00013.
func renamed(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.NewReplacer("settlement_legs", "transfer_legs", "balance_chunks", "balance_history").Replace(n)
	}
	return out
}

// openAt opens a database migrated up to version, and a function that runs a statement on
// it or fails the test.
func openAt(t *testing.T, version int64) (*store.DB, func(q string, args ...any)) {
	t.Helper()
	db := open(t)
	if _, err := migrations.Up(context.Background(), db.SQL(), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	downTo(t, db, version)
	return db, func(q string, args ...any) {
		t.Helper()
		if _, err := db.Pool.Exec(context.Background(), q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// downTo rolls migrations back until version is the last one applied.
func downTo(t *testing.T, db *store.DB, version int64) {
	t.Helper()
	if _, err := migrations.DownTo(context.Background(), db.SQL(), version, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
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
		WHERE s.nspname = 'public' AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition
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

// TestLeanIndexesDuringLoad applies 00011 and 00012 while an initial load has the indexes
// they replace, rename or add set aside: they build none but change what the load will
// build, and the rebuild makes the new ones.
func TestLeanIndexesDuringLoad(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	log := slog.New(slog.DiscardHandler)
	if _, err := migrations.Up(ctx, db.SQL(), log); err != nil {
		t.Fatal(err)
	}
	downTo(t, db, 10)
	// Deferred as a binary before 00012 did, which named the legs table transfer_legs.
	tables, keys := store.DeferrableTables, store.DeferrablePrimaryKeys
	store.DeferrableTables, store.DeferrablePrimaryKeys = renamed(tables), renamed(keys)
	_, err := db.DeferIndexes(ctx)
	store.DeferrableTables, store.DeferrablePrimaryKeys = tables, keys
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrations.Up(ctx, db.SQL(), log); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"transactions_member_asset_idx": "hashtext(member), hashtext(asset)",
		"transactions_type_height_idx":  "type <> 'transfer'",
		// 00012's, under the names it gives them.
		"transactions_transfer_to_idx": "(counterparty, block_time DESC) WHERE ((code = 0) AND (type = 'transfer'::text))",
		"settlement_legs_from_idx":     "settlement_legs USING btree (from_addr, block_time DESC)",
		"settlement_legs_pkey":         "(block_time, height, tx_idx, seq)",
		// 00013's.
		"balance_chunks_pkey": "(account, asset, height, block_time)",
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
	var analyze string
	if err := db.Pool.QueryRow(ctx, "SELECT definition FROM deferred_indexes WHERE name = $1", store.TablesAnalyze).Scan(&analyze); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(analyze, "settlement_legs") || strings.Contains(analyze, "transfer_legs") ||
		!strings.Contains(analyze, "balance_chunks") || strings.Contains(analyze, "balance_history") {
		t.Errorf("the load will analyze %q", analyze)
	}
	var rebuild string
	if err := db.Pool.QueryRow(ctx, "SELECT definition FROM deferred_indexes WHERE name = $1", store.BalancesRebuild).Scan(&rebuild); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rebuild, "FROM balance_chunks") {
		t.Errorf("the load will rebuild the balances with %q", rebuild)
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

// TestFoldTransferLegs applies 00012 to a history with a transfer, a failed transfer and a
// DvP: the transfer_legs view shows the legs the table held, the table keeps the DvP's, and
// going down puts the transfer's back. A transfer leg its tx row does not match is refused,
// and nothing is lost.
func TestFoldTransferLegs(t *testing.T) {
	ctx := context.Background()
	db, exec := openAt(t, 11)
	log := slog.New(slog.DiscardHandler)
	at := "2026-11-30 09:30:00+00"
	exec("SELECT ensure_month_partitions($1, $1)", at)
	exec(`INSERT INTO transactions (block_time, height, idx, hash, type, signer, asset, amount, counterparty, code, reason) VALUES
		($1, 7, 0, '\x01', 'transfer', '\xaa', 'CNYS', 1225, '\xbb', 0, ''),
		($1, 7, 1, '\x02', 'transfer', '\xaa', 'CNYS', 99, '\xbb', 20, 'insufficient balance'),
		($1, 7, 2, '\x03', 'settle_dvp', '\xcc', 'SSE600000', 10, '\xbb', 0, '')`, at)
	exec(`INSERT INTO transfer_legs (block_time, height, tx_idx, seq, leg, from_addr, to_addr, asset, amount) VALUES
		($1, 7, 0, 0, 'transfer', '\xaa', '\xbb', 'CNYS', 1225),
		($1, 7, 2, 0, 'asset', '\xaa', '\xbb', 'SSE600000', 10),
		($1, 7, 2, 1, 'cash', '\xbb', '\xaa', 'CNYS', 10000)`, at)
	legs := func() string {
		t.Helper()
		var s string
		if err := db.Pool.QueryRow(ctx, `SELECT string_agg((block_time, height, tx_idx, seq, leg, from_addr, to_addr, asset, amount)::text, ';'
			ORDER BY height, tx_idx, seq) FROM transfer_legs`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := legs()

	exec("UPDATE transfer_legs SET amount = 1224 WHERE leg = 'transfer'")
	if _, err := migrations.Up(ctx, db.SQL(), log); err == nil || !strings.Contains(err.Error(), "differ from their transactions") {
		t.Fatalf("up over a leg its tx does not match: %v", err)
	}
	exec("UPDATE transfer_legs SET amount = 1225 WHERE leg = 'transfer'")
	if got := legs(); got != before {
		t.Fatalf("refused up changed the legs: %s, want %s", got, before)
	}

	if _, err := migrations.Up(ctx, db.SQL(), log); err != nil {
		t.Fatal(err)
	}
	if got := legs(); got != before {
		t.Errorf("view after up: %s, want %s", got, before)
	}
	var stored int
	var part bool
	if err := db.Pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM settlement_legs), to_regclass('settlement_legs_p202611') IS NOT NULL").Scan(&stored, &part); err != nil {
		t.Fatal(err)
	}
	if stored != 2 || !part {
		t.Errorf("settlement_legs holds %d rows (want 2), partition renamed %v", stored, part)
	}
	var hashes string
	if err := db.Pool.QueryRow(ctx, "SELECT string_agg(encode(tx_hash, 'hex'), ',' ORDER BY tx_idx, seq) FROM transfer_legs").Scan(&hashes); err != nil {
		t.Fatal(err)
	}
	if hashes != "01,03,03" {
		t.Errorf("the legs' tx hashes are %s, want 01,03,03", hashes)
	}
	// The partition function now makes the renamed table's partitions, and the others'.
	parts := func(month string, tables ...string) {
		t.Helper()
		exec("SELECT ensure_month_partitions($1, $1)", month+"-05")
		for _, tbl := range tables {
			name := tbl + "_p" + strings.ReplaceAll(month, "-", "")
			if err := db.Pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", name).Scan(&part); err != nil || !part {
				t.Errorf("no partition %s: %v %v", name, part, err)
			}
		}
	}
	parts("2027-01", "transactions", "settlement_legs", "balance_chunks")

	downTo(t, db, 11)
	if got := legs(); got != before {
		t.Errorf("table after down: %s, want %s", got, before)
	}
	parts("2027-02", "transactions", "transfer_legs", "balance_history")
}

// TestBalanceChunks applies 00013 to a balance history of two holdings, one with 300
// changes in a month and one more in the next: the balance_history view shows the rows the
// table held, in chunks of at most 256 changes that stay in their month, and going down
// gives the table back as it was.
func TestBalanceChunks(t *testing.T) {
	ctx := context.Background()
	db, exec := openAt(t, 12)
	log := slog.New(slog.DiscardHandler)
	// Block h at a minute past the first of which, the last one in December.
	exec("SELECT ensure_month_partitions('2026-11-01', '2026-12-31')")
	exec(`INSERT INTO blocks (height, hash, time, proposer, app_hash, tx_count, failed_count)
		SELECT h, int8send(h), CASE WHEN h = 301 THEN '2026-12-01'::timestamptz ELSE '2026-11-01'::timestamptz + h * interval '1 minute' END,
			'\x00', '\x00', 1, 0 FROM generate_series(1, 301) h`)
	exec(`INSERT INTO balance_history (block_time, height, account, asset, delta, amount, locked)
		SELECT b.time, b.height, '\xaa'::bytea, 'CNYS', 10, 10 * b.height, b.height % 3 FROM blocks b
		UNION ALL SELECT time, height, '\xbb'::bytea, 'SSE600000', -1, 1000 - height, 0 FROM blocks WHERE height % 100 = 1`)
	history := func() string {
		t.Helper()
		var s string
		if err := db.Pool.QueryRow(ctx, `SELECT md5(string_agg((block_time, height, account, asset, delta, amount, locked)::text, ';'
			ORDER BY account, asset, height)) || count(*) FROM balance_history`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := history()
	if _, err := migrations.Up(ctx, db.SQL(), log); err != nil {
		t.Fatal(err)
	}
	if got := history(); got != before {
		t.Errorf("view after up: %s, want %s", got, before)
	}
	var chunks string
	if err := db.Pool.QueryRow(ctx, `SELECT string_agg(format('%s:%s-%s/%s', asset, height, last_height, cardinality(heights)), ' '
		ORDER BY account, asset, height) FROM balance_chunks`).Scan(&chunks); err != nil {
		t.Fatal(err)
	}
	if want := "CNYS:1-256/256 CNYS:257-300/44 CNYS:301-301/1 SSE600000:1-201/3 SSE600000:301-301/1"; chunks != want {
		t.Errorf("chunks %s, want %s", chunks, want)
	}
	var inDecember int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM balance_chunks_p202612").Scan(&inDecember); err != nil || inDecember != 2 {
		t.Errorf("%d chunks in December's partition, want 2: %v", inDecember, err)
	}
	// The arrays have no statistics, in the partitions made by the migration and after it.
	exec("SELECT ensure_month_partitions('2027-03-01', '2027-03-01')")
	var targets string
	if err := db.Pool.QueryRow(ctx, `SELECT string_agg(format('%s.%s=%s', attrelid::regclass, attname, coalesce(attstattarget, -1)), ' ' ORDER BY attrelid::regclass::text, attname)
		FROM pg_attribute WHERE attrelid IN ('balance_chunks_p202611'::regclass, 'balance_chunks_p202703'::regclass)
		AND attname IN ('heights', 'locked', 'account')`).Scan(&targets); err != nil {
		t.Fatal(err)
	}
	if want := "balance_chunks_p202611.account=-1 balance_chunks_p202611.heights=0 balance_chunks_p202611.locked=0 " +
		"balance_chunks_p202703.account=-1 balance_chunks_p202703.heights=0 balance_chunks_p202703.locked=0"; targets != want {
		t.Errorf("statistics targets %s, want %s", targets, want)
	}
	downTo(t, db, 12)
	if got := history(); got != before {
		t.Errorf("table after down: %s, want %s", got, before)
	}
}
