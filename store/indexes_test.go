package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

// indexDefs lists the index definitions of the deferrable tables and their partitions, by
// index name.
func indexDefs(t *testing.T, db *store.DB) map[string]string {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT indexname, indexdef FROM pg_indexes
		WHERE schemaname = current_schema() AND (tablename = ANY($1) OR tablename LIKE ANY(SELECT t || '_p%' FROM unnest($1::text[]) t))`,
		store.DeferrableTables)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, d string
		if err := rows.Scan(&n, &d); err != nil {
			t.Fatal(err)
		}
		out[n] = d
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDeferAndRestoreIndexes drops the secondary indexes of the big tables, writes blocks
// into a new month's partitions without them, and rebuilds them: the same indexes come back,
// on the new partitions too, and both steps are safe to repeat.
func TestDeferAndRestoreIndexes(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	if _, err := db.InitGenesis(ctx, genesis()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.WriteBlocks(ctx, []*store.BlockRows{block(1, 1, 0)}, store.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	before := indexDefs(t, db)

	n, err := db.DeferIndexes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n < 7 {
		t.Fatalf("deferred %d indexes, want the secondary indexes of %v", n, store.DeferrableTables)
	}
	if again, err := db.DeferIndexes(ctx); err != nil || again != 0 {
		t.Fatalf("deferring again: %d, %v", again, err)
	}
	if got, err := db.DeferredIndexes(ctx); err != nil || got != n {
		t.Fatalf("deferred count %d, %v; want %d", got, err, n)
	}
	for name := range indexDefs(t, db) {
		if _, ok := before[name]; !ok {
			t.Errorf("index %s appeared", name)
		}
	}
	// Blocks a month on land in partitions created while the indexes are away.
	var bal int64 = 10
	var batch []*store.BlockRows
	for h := int64(2); h <= 800; h++ {
		batch = append(batch, block(h, 1, bal))
		bal += 10
	}
	if _, err := db.WriteBlocks(ctx, batch, store.WriteOptions{CopyMinRows: 1}); err != nil {
		t.Fatal(err)
	}

	// The holdings wait for the rebuild: the balance stays where the first block left it.
	holding := func() (amount, height int64) {
		t.Helper()
		if err := db.Pool.QueryRow(ctx, "SELECT amount, height FROM balances WHERE account = $1 AND asset = 'CNYS'", addr(2)).Scan(&amount, &height); err != nil {
			t.Fatal(err)
		}
		return amount, height
	}
	if a, h := holding(); a != 10 || h != 1 {
		t.Errorf("holding while deferred: %d at %d, want 10 at 1", a, h)
	}

	built, err := db.RestoreIndexes(ctx, nil, nil)
	if err != nil || built != n {
		t.Fatalf("rebuilt %d, %v; want %d", built, err, n)
	}
	if got, err := db.DeferredIndexes(ctx); err != nil || got != 0 {
		t.Fatalf("deferred after rebuild: %d, %v", got, err)
	}
	if a, h := holding(); a != bal || h != 800 {
		t.Errorf("holding after the rebuild: %d at %d, want %d at 800", a, h, bal)
	}
	after := indexDefs(t, db)
	for name, def := range before {
		if after[name] != def {
			t.Errorf("index %s: was %q, now %q", name, def, after[name])
		}
	}
	// The partitions made while deferred have their indexes too: as many per partition as
	// the first month's.
	perPart := func(defs map[string]string, part string) int {
		c := 0
		for _, d := range defs {
			if strings.Contains(d, " ON public."+part+" ") {
				c++
			}
		}
		return c
	}
	first, later := "transactions_p"+t0.Format("200601"), "transactions_p"+t0.Add(799*time.Hour).Format("200601")
	if a, b := perPart(after, first), perPart(after, later); a == 0 || a != b {
		t.Errorf("indexes on %s: %d, on %s: %d", first, a, later, b)
	}
	if again, err := db.RestoreIndexes(ctx, nil, nil); err != nil || again != 0 {
		t.Fatalf("rebuilding again: %d, %v", again, err)
	}
}
