package e2e

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/cometbft/cometbft/mempool"

	"github.com/ledgerscope/ledgerscope/devnet"
	"github.com/ledgerscope/ledgerscope/devnet/devnettest"
	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/ledgersync"
	"github.com/ledgerscope/ledgerscope/ledgersync/memchain"
	"github.com/ledgerscope/ledgerscope/node"
	"github.com/ledgerscope/ledgerscope/reconcile"
	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func logger() *slog.Logger { return devnettest.Logger() }

// submit sends txs to a node in order, waiting out a full mempool.
func submit(ctx context.Context, t *testing.T, n *node.Node, txs [][]byte) {
	t.Helper()
	for _, raw := range txs {
		for {
			res, err := n.SubmitTx(raw)
			var full mempool.ErrMempoolIsFull
			if errors.As(err, &full) {
				select {
				case <-ctx.Done():
					t.Fatal(ctx.Err())
				case <-time.After(20 * time.Millisecond):
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Code != 0 {
				t.Fatalf("CheckTx: code %d %s", res.Code, res.Log)
			}
			break
		}
	}
}

// waitTxs follows a node's blocks from height from until n transactions have committed, and
// returns the height of the last.
func waitTxs(ctx context.Context, t *testing.T, src node.BlockSource, from int64, n int) int64 {
	t.Helper()
	seen := 0
	for h := from; ; h++ {
		b, err := src.Block(ctx, h)
		if err != nil {
			t.Fatalf("waiting for %d txs from height %d: %v", n, from, err)
		}
		seen += len(b.Txs)
		if seen >= n {
			return h
		}
	}
}

// syncTo runs a ledgersync worker on src until the database holds height, then stops it.
func syncTo(ctx context.Context, t *testing.T, src node.BlockSource, db *store.DB, g store.Genesis, height int64) {
	t.Helper()
	w, err := ledgersync.New(ledgersync.Config{Source: src, DB: db, Genesis: g, RetryMin: 20 * time.Millisecond, Logger: logger()})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	// Until an initial load has rebuilt its indexes and holdings, reconcile refuses.
	for m := w.Metrics(); m.SyncedHeight < height || m.DeferredIndexes > 0; m = w.Metrics() {
		if m := w.Metrics(); m.Halted || ctx.Err() != nil {
			cancel()
			t.Fatalf("sync stopped at %d of %d: %s", m.SyncedHeight, height, m.LastError)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func mustReconcile(ctx context.Context, t *testing.T, how string, cfg reconcile.Config, height int64) {
	t.Helper()
	r, err := reconcile.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("%s: %v", how, err)
	}
	if !r.OK() || r.Height < height || !r.HashConfirmed || r.Txs == 0 || r.Failed == 0 || r.Balances == 0 {
		var out bytes.Buffer
		_ = r.WriteText(&out)
		t.Fatalf("%s: at height %d (want ≥ %d):\n%s", how, r.Height, height, out.String())
	}
	t.Logf("%s: no difference at height %d over %d balances, %d txs (%d failed)", how, r.Height, r.Balances, r.Txs, r.Failed)
}

// TestDevnetSyncReconciles is the whole path: four validators commit signed traffic (some of
// it failing in execution), a full node block-syncs and re-executes it, ledgersync writes the
// full node's blocks into PostgreSQL, and reconciliation finds no difference with the full
// node's ledger at the cursor's height. The same chain followed over validator 0's RPC gives
// the same rows, table by table, and reconciles over RPC too.
func TestDevnetSyncReconciles(t *testing.T) {
	// A bound on a hang, not a speed target: under the race detector, beside the other
	// packages' tests, the whole path took 98 s on a 2-core machine.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	const validators = 4
	opts := devnettest.Options(t, validators)
	dn, err := devnet.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer dn.Stop()
	v0 := dn.Members[0]
	tr, err := memchain.NewTraffic(memchain.TrafficConfig{Seed: opts.Seed, ChainID: dn.Meta.ChainID, Parties: 100, Txs: 4000, FailEvery: 40})
	if err != nil {
		t.Fatal(err)
	}
	// Each set-up phase commits before the next: CheckTx rejects txs of unknown signers.
	for _, phase := range append(tr.Setup, tr.Load) {
		from := v0.App.Height() + 1
		submit(ctx, t, v0.Node, phase)
		waitTxs(ctx, t, v0.Node, from, len(phase))
	}
	top := v0.App.Height()

	full, err := dn.AddFullNode(ctx, "PORTAL", validators+1)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := dn.Genesis()
	if err != nil {
		t.Fatal(err)
	}
	g, err := ledgersync.GenesisFromDoc(doc)
	if err != nil {
		t.Fatal(err)
	}

	// The embedded full node, as the portal runs it.
	db := pgtest.New(t)
	syncTo(ctx, t, full.Node, db, g, top)
	mustReconcile(ctx, t, "full node, in-process", reconcile.Config{
		DB: db, Ledger: reconcile.App(full.App),
		Chain: reconcile.ChainFunc(func(ctx context.Context, h int64) ([]byte, []byte, error) {
			b, err := full.Node.Block(ctx, h)
			if err != nil {
				return nil, nil, err
			}
			return b.Hash, b.AppHash, nil
		}),
	}, top)

	// A remote node over RPC, as `ledgerscope sync --node-rpc` runs it.
	src, err := node.NewRPCSource(node.RPCSourceConfig{Remote: dn.RPC(), PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rdb := pgtest.New(t)
	syncTo(ctx, t, src, rdb, g, top)
	rpc, err := reconcile.NewRPC(dn.RPC(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	mustReconcile(ctx, t, "validator 0 over RPC", reconcile.Config{DB: rdb, Ledger: rpc, Chain: rpc, PageSize: 16}, top)

	// Both databases hold the same chain up to the lower cursor.
	var a, b int64
	if err := db.Pool.QueryRow(ctx, "SELECT height FROM sync_cursor").Scan(&a); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Pool.QueryRow(ctx, "SELECT height FROM sync_cursor").Scan(&b); err != nil {
		t.Fatal(err)
	}
	h := min(a, b)
	for _, q := range []string{
		"SELECT md5(string_agg(hash::text || app_hash::text || tx_count || '/' || failed_count, ',' ORDER BY height)) FROM blocks WHERE height <= $1",
		"SELECT md5(string_agg(hash::text || code || member || asset || amount, ',' ORDER BY height, idx)) FROM transactions WHERE height <= $1",
		"SELECT md5(string_agg(account::text || asset || amount, ',' ORDER BY height, account, asset)) FROM balance_history WHERE height <= $1",
	} {
		var x, y string
		if err := db.Pool.QueryRow(ctx, q, h).Scan(&x); err != nil {
			t.Fatal(err)
		}
		if err := rdb.Pool.QueryRow(ctx, q, h).Scan(&y); err != nil {
			t.Fatal(err)
		}
		if x != y {
			t.Errorf("up to height %d the two databases differ: %s", h, q)
		}
	}
	var st ledger.Stats
	full.App.View(func(s *ledger.State) { st = s.Stats })
	if st.Failed < uint64(len(tr.Load)/40) {
		t.Errorf("%d failed txs on the ledger, want at least %d", st.Failed, len(tr.Load)/40)
	}
}
