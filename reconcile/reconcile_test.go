package reconcile

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/ledgersync"
	"github.com/ledgerscope/ledgerscope/ledgersync/memchain"
	"github.com/ledgerscope/ledgerscope/node"
	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	chainID = "reconcile-test"
	seed    = "reconcile"
)

var genesisTime = time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC)

// newChain builds a chain of mixed traffic, some of it failing.
func newChain(t *testing.T) *memchain.Chain {
	t.Helper()
	c, err := memchain.New(memchain.Config{Dir: t.TempDir(), ChainID: chainID, Genesis: ledger.DemoGenesis(seed), GenesisTime: genesisTime})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	tr, err := memchain.NewTraffic(memchain.TrafficConfig{Seed: seed, ChainID: chainID, Parties: 40, Txs: 3000, FailEvery: 50})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(tr, 200, genesisTime, time.Second); err != nil {
		t.Fatal(err)
	}
	return c
}

// extend adds blocks the database will not see: the node is then ahead of the cursor.
func extend(t *testing.T, c *memchain.Chain, blocks int) {
	t.Helper()
	b, err := c.Block(context.Background(), c.Height())
	if err != nil {
		t.Fatal(err)
	}
	at := b.Time
	for range blocks {
		at = at.Add(time.Second)
		// Empty blocks still move the height; a mint moves a supply and a balance.
		if _, err := c.Next(at, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func chainOf(c *memchain.Chain) Chain {
	return ChainFunc(func(ctx context.Context, h int64) ([]byte, []byte, error) {
		b, err := c.Block(ctx, h)
		if err != nil {
			return nil, nil, err
		}
		return b.Hash, b.AppHash, nil
	})
}

func exec(t *testing.T, db *store.DB, sql string) {
	t.Helper()
	tag, err := db.Pool.Exec(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if tag.RowsAffected() == 0 {
		t.Fatalf("%s: no row", sql)
	}
}

// TestReconcile syncs a chain, lets the chain move on, and reconciles at the cursor: clean,
// it finds no difference; with rows altered by hand it reports each one, with both values.
func TestReconcile(t *testing.T) {
	c := newChain(t)
	var st ledger.Stats
	c.App().View(func(s *ledger.State) { st = s.Stats })
	if st.Failed == 0 {
		t.Fatal("the chain should have failed txs")
	}
	// The first holding in key order, which the tampering below picks by the same order.
	const first = `(SELECT account FROM balances WHERE amount > 0 ORDER BY account, asset COLLATE "C" LIMIT 1)`
	const firstAsset = `(SELECT asset FROM balances WHERE amount > 0 ORDER BY account, asset COLLATE "C" LIMIT 1)`
	tests := []struct {
		name   string
		tamper []string
		want   []Kind // kinds reported, in order
		check  func(t *testing.T, r *Report)
	}{
		{name: "clean"},
		{
			name:   "balance altered",
			tamper: []string{`UPDATE balances SET amount = amount + 7 WHERE (account, asset) = (` + first + `, ` + firstAsset + `)`},
			want:   []Kind{KindBalance},
			check: func(t *testing.T, r *Report) {
				d := r.Differences[0]
				if d.PostgreSQL != int64(d.Ledger)+7 || len(d.Account) != 20 || d.Asset == "" {
					t.Errorf("difference %+v", d)
				}
			},
		},
		{
			name:   "locked altered",
			tamper: []string{`UPDATE balances SET locked = 1 WHERE (account, asset) = (` + first + `, ` + firstAsset + `)`},
			want:   []Kind{KindLocked},
		},
		{
			name:   "balance row deleted",
			tamper: []string{`DELETE FROM balances WHERE (account, asset) = (` + first + `, ` + firstAsset + `)`},
			want:   []Kind{KindBalance},
			check: func(t *testing.T, r *Report) {
				if d := r.Differences[0]; d.PostgreSQL != 0 || d.Ledger == 0 || !strings.Contains(d.Note, "no row") {
					t.Errorf("difference %+v", d)
				}
			},
		},
		{
			name: "balance row added",
			tamper: []string{`INSERT INTO balances (account, asset, amount, locked, height)
				VALUES ('\xffffffffffffffffffffffffffffffffffffffff', 'CNYS', 5, 0, 1)`},
			want: []Kind{KindBalance},
			check: func(t *testing.T, r *Report) {
				if d := r.Differences[0]; d.PostgreSQL != 5 || d.Ledger != 0 || !bytes.Equal(d.Account, bytes.Repeat([]byte{0xff}, 20)) {
					t.Errorf("difference %+v", d)
				}
			},
		},
		{
			name: "transaction deleted",
			tamper: []string{`DELETE FROM transactions WHERE (height, idx) =
				(SELECT height, idx FROM transactions WHERE code = 0 ORDER BY height DESC, idx LIMIT 1)`},
			want: []Kind{KindTxs},
			check: func(t *testing.T, r *Report) {
				if d := r.Differences[0]; d.PostgreSQL != int64(d.Ledger)-1 || d.Ledger != st.Txs {
					t.Errorf("difference %+v, ledger has %d txs", d, st.Txs)
				}
			},
		},
		{
			name: "failed transaction marked successful",
			tamper: []string{`UPDATE transactions SET code = 0 WHERE (height, idx) =
				(SELECT height, idx FROM transactions WHERE code <> 0 LIMIT 1)`},
			want: []Kind{KindFailed},
		},
		{
			name:   "supply changed",
			tamper: []string{`UPDATE assets SET supply = supply + 100 WHERE symbol = '600001'`},
			want:   []Kind{KindSupply},
			check: func(t *testing.T, r *Report) {
				if d := r.Differences[0]; d.Asset != "600001" || d.PostgreSQL != int64(d.Ledger)+100 {
					t.Errorf("difference %+v", d)
				}
			},
		},
		{
			name:   "asset row deleted",
			tamper: []string{`DELETE FROM assets WHERE symbol = '600002'`},
			want:   []Kind{KindAsset},
		},
		{
			name: "several at once",
			tamper: []string{
				`UPDATE assets SET supply = supply - 1 WHERE symbol = 'CNYS'`,
				`DELETE FROM transactions WHERE (height, idx) = (SELECT height, idx FROM transactions WHERE code <> 0 LIMIT 1)`,
				`UPDATE balances SET amount = amount - 1 WHERE (account, asset) = (` + first + `, ` + firstAsset + `)`,
			},
			want: []Kind{KindTxs, KindFailed, KindSupply, KindBalance},
		},
	}
	// One database synced per case: every case starts from an exact copy of the chain.
	synced := c.Height()
	extend(t, c, 3)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := pgtest.New(t)
			syncUpTo(t, c, db, synced)
			for _, q := range tt.tamper {
				exec(t, db, q)
			}
			// A small page makes the merge cross many pages.
			r, err := Run(context.Background(), Config{DB: db, Ledger: App(c.App()), Chain: chainOf(c), PageSize: 7})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := r.WriteText(&out); err != nil {
				t.Fatal(err)
			}
			if r.Height != synced || !r.HashConfirmed || !r.AppHashConfirmed || r.Txs != st.Txs || r.Failed != st.Failed {
				t.Fatalf("report at %d (synced %d), confirmed %v/%v, txs %d/%d:\n%s", r.Height, synced, r.HashConfirmed, r.AppHashConfirmed, r.Txs, r.Failed, out.String())
			}
			if r.Balances < 40*3 || r.Assets != 3 {
				t.Errorf("compared %d balances and %d assets", r.Balances, r.Assets)
			}
			var kinds []Kind
			for _, d := range r.Differences {
				kinds = append(kinds, d.Kind)
			}
			if !equalKinds(kinds, tt.want) || r.Total != len(tt.want) || r.OK() != (len(tt.want) == 0) {
				t.Fatalf("differences %v (total %d), want %v:\n%s", kinds, r.Total, tt.want, out.String())
			}
			t.Log("\n" + out.String())
			if tt.check != nil {
				tt.check(t, r)
			}
			if r.OK() != strings.Contains(out.String(), "no difference") {
				t.Errorf("text does not match the verdict:\n%s", out.String())
			}
		})
	}
}

func equalKinds(a, b []Kind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// syncUpTo runs the ledgersync worker on the chain, shown only up to height, until the
// database holds that height.
func syncUpTo(t *testing.T, c *memchain.Chain, db *store.DB, height int64) {
	t.Helper()
	g, err := ledgersync.GenesisRows(chainID, genesisTime, ledger.DemoGenesis(seed))
	if err != nil {
		t.Fatal(err)
	}
	src := &capped{Chain: c, top: height}
	w, err := ledgersync.New(ledgersync.Config{Source: src, DB: db, Genesis: g, RetryMin: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for w.Metrics().SyncedHeight < height {
		if m := w.Metrics(); m.LastError != "" || time.Now().After(deadline) {
			cancel()
			t.Fatalf("sync stopped at %d of %d: %s", m.SyncedHeight, height, m.LastError)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// capped shows a chain only up to a height, like a node that has not yet committed more.
type capped struct {
	*memchain.Chain
	top int64
}

func (c *capped) Block(ctx context.Context, h int64) (*node.CommittedBlock, error) {
	if h > c.top {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return c.Chain.Block(ctx, h)
}

// Status reports the capped height, so that a sync that reaches it has caught up.
func (c *capped) Status(ctx context.Context) (node.Status, error) {
	st, err := c.Chain.Status(ctx)
	if err != nil {
		return st, err
	}
	b, err := c.Chain.Block(ctx, c.top)
	if err != nil {
		return st, err
	}
	st.LatestHeight, st.LatestTime, st.LatestBlockHash = c.top, b.Time, b.Hash
	return st, nil
}

// TestReconcileRefuses covers the cases where no comparison can be made.
func TestReconcileRefuses(t *testing.T) {
	ctx := context.Background()
	c := newChain(t)
	db := pgtest.New(t)
	g, err := ledgersync.GenesisRows(chainID, genesisTime, ledger.DemoGenesis(seed))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.InitGenesis(ctx, g); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, Config{DB: db, Ledger: App(c.App())}); !errors.Is(err, ErrNothingSynced) {
		t.Fatalf("at genesis: %v", err)
	}
	syncUpTo(t, c, db, c.Height())
	other := ChainFunc(func(context.Context, int64) ([]byte, []byte, error) { return []byte{1, 2, 3}, nil, nil })
	if _, err := Run(ctx, Config{DB: db, Ledger: App(c.App()), Chain: other}); !errors.Is(err, ErrOtherBlock) {
		t.Fatalf("another chain: %v", err)
	}
	if _, err := Run(ctx, Config{DB: db, Ledger: App(c.App()), PageSize: ledger.MaxBalancesPage + 1}); err == nil {
		t.Fatal("an oversized page was accepted")
	}
	// A node that has pruned the height cannot answer there.
	pruned, err := memchain.New(memchain.Config{Dir: t.TempDir(), ChainID: chainID, Genesis: ledger.DemoGenesis(seed), GenesisTime: genesisTime})
	if err != nil {
		t.Fatal(err)
	}
	defer pruned.Close()
	if _, err := Run(ctx, Config{DB: db, Ledger: App(pruned.App())}); err == nil || !strings.Contains(err.Error(), "not kept") {
		t.Fatalf("a node behind the cursor: %v", err)
	}
}

// TestReconcileListsAtMost bounds the listed differences but counts them all.
func TestReconcileListsAtMost(t *testing.T) {
	c := newChain(t)
	db := pgtest.New(t)
	syncUpTo(t, c, db, c.Height())
	exec(t, db, `UPDATE balances SET amount = amount + 1 WHERE amount > 0`)
	var n int64
	if err := db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM balances WHERE amount > 0").Scan(&n); err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), Config{DB: db, Ledger: App(c.App()), MaxDifferences: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Differences) != 5 || int64(r.Total) != n {
		t.Fatalf("%d listed, %d counted, want 5 and %d", len(r.Differences), r.Total, n)
	}
	var out bytes.Buffer
	if err := r.WriteText(&out); err != nil || !strings.Contains(out.String(), "the first 5 listed") {
		t.Fatalf("%v:\n%s", err, out.String())
	}
}
