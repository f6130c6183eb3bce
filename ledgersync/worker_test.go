package ledgersync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/node"
	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

func TestMain(m *testing.M) {
	if os.Getenv(childBlocksEnv) != "" {
		os.Exit(runChild())
	}
	pgtest.Main(m)
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

// syncTo runs a worker until it has written target, then stops it.
func syncTo(t testing.TB, db *store.DB, src *testChain, target int64, tune func(*Config)) *Worker {
	t.Helper()
	cfg := Config{Source: src, DB: db, Genesis: testGenesis(t), Logger: testLogger(t), LogEvery: 50, RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond}
	if tune != nil {
		tune(&cfg)
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	deadline := time.After(60 * time.Second)
	for w.Metrics().SyncedHeight < target {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("worker stopped at %d: %v", w.Metrics().SyncedHeight, err)
		case <-deadline:
			cancel()
			t.Fatalf("timed out at %d of %d: %+v", w.Metrics().SyncedHeight, target, w.Metrics())
		case <-time.After(5 * time.Millisecond):
		}
		if m := w.Metrics(); m.LastError != "" {
			cancel()
			t.Fatalf("sync error: %s", m.LastError)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return w
}

func checksums(t testing.TB, db *store.DB) map[string]string {
	out := map[string]string{}
	for _, tb := range pgtest.Tables {
		out[tb] = pgtest.Checksum(t, db, tb)
	}
	c, err := db.Cursor(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out["sync_cursor"] = fmt.Sprintf("%d %X", c.Height, c.Hash)
	return out
}

func sameChecksums(t testing.TB, a, b map[string]string) {
	t.Helper()
	for k, v := range a {
		if b[k] != v {
			t.Errorf("%s differs", k)
		}
	}
}

// TestSyncMatchesLedger syncs a chain and compares the database with the ledger's state:
// every balance, supply, account status, settlement and transaction count, and holdings at
// past heights with the ledger's holdings at those heights.
func TestSyncMatchesLedger(t *testing.T) {
	ctx := context.Background()
	src := newTestChain(t, 1)
	src.Run(60, 80)
	db := pgtest.New(t)
	w := syncTo(t, db, src, src.Height(), nil)
	m := w.Metrics()
	if m.LagHeights != 0 || m.Halted || m.SyncedHeight != src.Height() {
		t.Fatalf("metrics %+v", m)
	}

	var st *ledger.State
	src.App().View(func(s *ledger.State) { st = s })
	// Balances.
	var rows []store.Balance
	if err := db.Gorm.Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	got := map[ledger.BalanceKey]ledger.Balance{}
	for _, r := range rows {
		var a ledger.Address
		copy(a[:], r.Account)
		got[ledger.BalanceKey{Account: a, Asset: r.Asset}] = ledger.Balance{Amount: uint64(r.Amount), Locked: uint64(r.Locked)}
	}
	compareHoldings(t, "current", got, st.Balances)
	// Supplies and statuses.
	var assets []store.Asset
	if err := db.Gorm.Find(&assets).Error; err != nil {
		t.Fatal(err)
	}
	if len(assets) != len(st.Assets) {
		t.Errorf("%d assets, ledger has %d", len(assets), len(st.Assets))
	}
	for _, a := range assets {
		if la := st.Assets[a.Symbol]; la == nil || uint64(a.Supply) != la.Supply || a.Status != la.Status.String() {
			t.Errorf("asset %s: supply %d status %s, ledger %+v", a.Symbol, a.Supply, a.Status, la)
		}
	}
	var accounts []store.Account
	if err := db.Gorm.Find(&accounts).Error; err != nil {
		t.Fatal(err)
	}
	if len(accounts) != len(st.Accounts) {
		t.Errorf("%d accounts, ledger has %d", len(accounts), len(st.Accounts))
	}
	for _, a := range accounts {
		var addr ledger.Address
		copy(addr[:], a.Address)
		la := st.Accounts[addr]
		if la == nil || a.Status != la.Status.String() || a.Sponsor != la.Sponsor || !bytes.Equal(a.OwnerRef, la.OwnerRef[:]) {
			t.Errorf("account %x: %+v, ledger %+v", a.Address, a, la)
		}
	}
	// Settlements.
	var settles []store.Settlement
	if err := db.Gorm.Where("kind = 'gateway'").Find(&settles).Error; err != nil {
		t.Fatal(err)
	}
	ledgerSettles := map[ledger.Hash]*ledger.Settlement{}
	if err := st.EachSettlement(func(se *ledger.Settlement) error { ledgerSettles[se.ID] = se; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(settles) != len(ledgerSettles) {
		t.Errorf("%d gateway settlements, ledger has %d", len(settles), len(ledgerSettles))
	}
	states := map[string]int{}
	for _, s := range settles {
		var id ledger.Hash
		copy(id[:], s.ID)
		ls := ledgerSettles[id]
		states[s.State]++
		if ls == nil || s.State != ls.State.String() || s.OpenedHeight != ls.Height {
			t.Errorf("settlement %x: %s opened %d, ledger %+v", s.ID, s.State, s.OpenedHeight, ls)
		}
	}
	if states["failed"] == 0 || states["confirmed"] == 0 {
		t.Errorf("settlement states %v: the test chain should close some each way", states)
	}
	// Transactions: every one, failed ones included.
	var want, failed int64
	for h := int64(1); h <= src.Height(); h++ {
		b, _ := src.Block(ctx, h)
		want += int64(len(b.Txs))
		for _, r := range b.TxResults {
			if r.Code != 0 {
				failed++
			}
		}
	}
	n, err := db.CountTransactions(ctx, src.Height())
	if err != nil || n != want {
		t.Fatalf("%d transactions (%v), want %d", n, err, want)
	}
	var gotFailed int64
	db.Gorm.Model(&store.Transaction{}).Where("code <> 0").Count(&gotFailed)
	if gotFailed != failed || failed == 0 {
		t.Errorf("%d failed transactions, want %d (> 0)", gotFailed, failed)
	}
	// Rollups add up to the transactions.
	var rollupCount int64
	db.Gorm.Raw("SELECT coalesce(sum(tx_count), 0) FROM daily_rollups").Scan(&rollupCount)
	if rollupCount != want {
		t.Errorf("rollups count %d txs, want %d", rollupCount, want)
	}
	// Partitions were created across the month boundary.
	var parts int
	db.Gorm.Raw("SELECT count(*) FROM pg_inherits WHERE inhparent = 'transactions'::regclass").Scan(&parts)
	if parts < 2 {
		t.Errorf("%d transaction partitions, want the chain's months", parts)
	}

	t.Run("holdings at past heights", func(t *testing.T) {
		for _, h := range []int64{1, 2, 3, 10, 31, src.Height()} {
			for _, p := range src.parties[:4] {
				addr := addrOf(p)
				res, err := db.HoldingsAt(ctx, store.HoldingsQuery{Account: addr[:], At: h})
				if err != nil {
					t.Fatal(err)
				}
				b, _ := src.Block(ctx, h)
				if res.Height != h || !bytes.Equal(res.BlockHash, b.Hash) {
					t.Fatalf("height %d: answered %d %X", h, res.Height, res.BlockHash)
				}
				compareHoldings(t, "account", toMap(res.Holdings), filter(src.holding[h], func(k ledger.BalanceKey) bool { return k.Account == addr }))
			}
			for _, asset := range append([]string{ledger.CoinSymbol}, src.assets...) {
				res, err := db.HoldingsAt(ctx, store.HoldingsQuery{Asset: asset, At: h})
				if err != nil {
					t.Fatal(err)
				}
				compareHoldings(t, "asset "+asset, toMap(res.Holdings), filter(src.holding[h], func(k ledger.BalanceKey) bool { return k.Asset == asset }))
			}
		}
		// By time: a moment inside block 10's hour is block 10.
		b10, _ := src.Block(ctx, 10)
		at := b10.Time.Add(30 * time.Minute)
		res, err := db.HoldingsAt(ctx, store.HoldingsQuery{Asset: "600001", AtTime: &at})
		if err != nil || res.Height != 10 {
			t.Fatalf("at time: %v %v", res, err)
		}
		if _, err := db.HoldingsAt(ctx, store.HoldingsQuery{Asset: "600001", At: src.Height() + 1}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("above the cursor: %v", err)
		}
		if _, err := db.HoldingsAt(ctx, store.HoldingsQuery{Asset: "NO-SUCH", At: 10}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown asset: %v", err)
		}
	})
}

func toMap(hs []store.Holding) map[ledger.BalanceKey]ledger.Balance {
	out := map[ledger.BalanceKey]ledger.Balance{}
	for _, h := range hs {
		var a ledger.Address
		copy(a[:], h.Account)
		out[ledger.BalanceKey{Account: a, Asset: h.Asset}] = ledger.Balance{Amount: uint64(h.Amount), Locked: uint64(h.Locked)}
	}
	return out
}

func filter(m map[ledger.BalanceKey]ledger.Balance, keep func(ledger.BalanceKey) bool) map[ledger.BalanceKey]ledger.Balance {
	out := map[ledger.BalanceKey]ledger.Balance{}
	for k, v := range m {
		if keep(k) {
			out[k] = v
		}
	}
	return out
}

// compareHoldings compares non-zero holdings.
func compareHoldings(t testing.TB, what string, got, want map[ledger.BalanceKey]ledger.Balance) {
	t.Helper()
	nz := func(m map[ledger.BalanceKey]ledger.Balance) map[ledger.BalanceKey]ledger.Balance {
		return filter(m, func(k ledger.BalanceKey) bool { return m[k] != (ledger.Balance{}) })
	}
	got, want = nz(got), nz(want)
	var diffs []string
	for k, v := range want {
		if got[k] != v {
			diffs = append(diffs, k.Account.String()+"/"+k.Asset)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, "extra "+k.Account.String()+"/"+k.Asset)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("%s holdings: %d differ, e.g. %v", what, len(diffs), diffs[:min(3, len(diffs))])
	}
}

// TestCopyAndInsertAgree syncs one chain twice, once in large COPY batches and once a block
// per INSERT transaction, and finds the same rows in every table.
func TestCopyAndInsertAgree(t *testing.T) {
	src := newTestChain(t, 2)
	src.Run(40, 60)
	bulk, live := pgtest.New(t), pgtest.New(t)
	wb := syncTo(t, bulk, src, src.Height(), func(c *Config) { c.CopyMinRows = 1; c.MaxBatchBlocks = 1000 })
	wl := syncTo(t, live, src, src.Height(), func(c *Config) { c.CopyMinRows = 1 << 30; c.MaxBatchBlocks = 1 })
	if wb.Metrics().CopyBatches == 0 || wl.Metrics().CopyBatches != 0 {
		t.Fatalf("copy batches %d and %d", wb.Metrics().CopyBatches, wl.Metrics().CopyBatches)
	}
	if wl.Metrics().Batches != src.Height() {
		t.Fatalf("live path wrote %d transactions for %d blocks", wl.Metrics().Batches, src.Height())
	}
	sameChecksums(t, checksums(t, bulk), checksums(t, live))
}

// TestReplayIsNoop writes already-written blocks again, directly and through a restarted
// worker: nothing changes.
func TestReplayIsNoop(t *testing.T) {
	ctx := context.Background()
	src := newTestChain(t, 3)
	src.Run(20, 50)
	db := pgtest.New(t)
	syncTo(t, db, src, src.Height(), nil)
	before := checksums(t, db)

	conv := &converter{sponsors: map[string]string{}}
	var blocks []*store.BlockRows
	for h := int64(1); h <= src.Height(); h++ {
		b, _ := src.Block(ctx, h)
		rows, err := conv.convert(b)
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, rows)
	}
	for _, tc := range []struct {
		name string
		from int
	}{{"all", 0}, {"tail", 15}, {"last", 19}} {
		res, err := db.WriteBlocks(ctx, blocks[tc.from:], store.WriteOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if res.Written != 0 || res.Skipped != len(blocks)-tc.from {
			t.Fatalf("%s: %+v", tc.name, res)
		}
	}
	sameChecksums(t, before, checksums(t, db))
	// A restarted worker finds nothing to do.
	src.Next(time.Hour)
	syncTo(t, db, src, src.Height(), nil)
	var n int64
	db.Gorm.Model(&store.Block{}).Count(&n)
	if n != src.Height() {
		t.Fatalf("%d blocks stored, want %d", n, src.Height())
	}
}

// TestDivergentBlockHalts points a synced database at a chain that forked: the worker halts
// with an alarm on the cursor, and no row changes.
func TestDivergentBlockHalts(t *testing.T) {
	ctx := context.Background()
	a, b := newTestChain(t, 4), newTestChain(t, 5)
	a.Run(10, 20)
	b.Run(15, 20)
	db := pgtest.New(t)
	syncTo(t, db, a, a.Height(), nil)
	before := checksums(t, db)

	w, err := New(Config{Source: b, DB: db, Genesis: testGenesis(t), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = w.Run(rctx)
	var div *store.DivergenceError
	if !errors.Is(err, ErrHalted) || !errors.As(err, &div) || div.Height != a.Height() {
		t.Fatalf("run: %v", err)
	}
	if m := w.Metrics(); !m.Halted || m.HaltReason == "" {
		t.Fatalf("metrics %+v", m)
	}
	cur, err := db.Cursor(ctx)
	if err != nil || cur.HaltedAt == nil || cur.Height != a.Height() {
		t.Fatalf("cursor %+v %v", cur, err)
	}
	sameChecksums(t, before, checksums(t, db))

	// The alarm stays: a new worker, even on the right chain, refuses until it is cleared.
	w2, _ := New(Config{Source: a, DB: db, Genesis: testGenesis(t)})
	if err := w2.Run(rctx); !errors.Is(err, ErrHalted) {
		t.Fatalf("second run: %v", err)
	}
	if err := db.ClearHalt(ctx); err != nil {
		t.Fatal(err)
	}
	a.Next(time.Hour)
	syncTo(t, db, a, a.Height(), nil)
}

// TestRowsPastCursorRemoved plants rows above the cursor; the worker removes them at start-up
// and ends with the same rows as a clean sync.
func TestRowsPastCursorRemoved(t *testing.T) {
	ctx := context.Background()
	src := newTestChain(t, 6)
	src.Run(20, 40)
	clean := pgtest.New(t)
	syncTo(t, clean, src, src.Height(), nil)

	db := pgtest.New(t)
	syncTo(t, db, src, 12, func(c *Config) { c.MaxBatchBlocks = 1 })
	cur, _ := db.Cursor(ctx)
	b, _ := src.Block(ctx, cur.Height+1)
	for _, q := range []string{
		`INSERT INTO blocks VALUES ($1, '\x00', $2, '\x00', '\x00', 0, 0)`,
		`INSERT INTO balance_chunks VALUES ($2, $1::bigint, $1::bigint, '\x0102', 'CNYS', ARRAY[$1::bigint], '{5}', '{5}', '{0}')`,
		`INSERT INTO transactions (block_time, height, idx, hash, type, code) VALUES ($2, $1, 0, '\x00', 'transfer', 0)`,
	} {
		if _, err := db.Pool.Exec(ctx, q, cur.Height+1, b.Time); err != nil {
			t.Fatal(err)
		}
	}
	syncTo(t, db, src, src.Height(), nil)
	sameChecksums(t, checksums(t, clean), checksums(t, db))
}

// TestLiveFollow follows a chain that grows while the worker runs: a transaction per block,
// and the lag returns to zero.
func TestLiveFollow(t *testing.T) {
	src := newTestChain(t, 7)
	db := pgtest.New(t)
	w, err := New(Config{Source: src, DB: db, Genesis: testGenesis(t), Logger: testLogger(t), StatusInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	for range 10 {
		src.Run(1, 30)
		deadline := time.Now().Add(10 * time.Second)
		for w.Metrics().SyncedHeight < src.Height() {
			if time.Now().After(deadline) {
				t.Fatalf("lagging: %+v", w.Metrics())
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	m := w.Metrics()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if m.LagHeights != 0 || m.LagSeconds != 0 || m.Batches < 10 || m.Rows == 0 {
		t.Fatalf("metrics %+v", m)
	}
}

// watchedSource is a test chain whose Status may under-report its height.
type watchedSource struct {
	*testChain
	// statusCap, when positive, caps the height Status reports: a node still block-syncing,
	// whose height the sync learns only as it reads.
	statusCap int64
}

func (s *watchedSource) Status(ctx context.Context) (node.Status, error) {
	st, err := s.testChain.Status(ctx)
	if s.statusCap > 0 {
		st.LatestHeight = min(st.LatestHeight, s.statusCap)
	}
	return st, err
}

// TestInitialLoadDefersIndexes syncs a chain into an empty database with the secondary
// indexes set aside during the load, and into another without: the rows are the same, and
// once synced the first has all its indexes back. The node is ahead from the start, or still
// block-syncing (its height known only as the sync reads).
func TestInitialLoadDefersIndexes(t *testing.T) {
	src := newTestChain(t, 5)
	// Hourly blocks over 33 days: the load crosses into a partition made while deferred.
	src.Run(800, 3)
	plain := pgtest.New(t)
	syncTo(t, plain, src, src.Height(), func(c *Config) { c.DeferIndexesBlocks = -1 })
	if n, err := plain.DeferredIndexes(context.Background()); err != nil || n != 0 {
		t.Fatalf("DeferIndexesBlocks -1 deferred %d (%v)", n, err)
	}
	tests := []struct {
		name      string
		statusCap int64
	}{
		{"node ahead from the start", 0},
		{"node block-syncing, its height learnt while reading", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fast := pgtest.New(t)
			watched := &watchedSource{testChain: src, statusCap: tt.statusCap}
			// The handler serialises its writes, and syncTo returns once the worker has
			// stopped: the buffer is read after the last write.
			var logs bytes.Buffer
			w := syncTo(t, fast, src, src.Height(), func(c *Config) {
				c.Source, c.DeferIndexesBlocks, c.MaxBatchBlocks = watched, 10, 5
				c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			if !strings.Contains(logs.String(), "secondary indexes set aside") || !strings.Contains(logs.String(), "indexes rebuilt") {
				t.Fatalf("no index was set aside and rebuilt:\n%s", logs.String())
			}
			if n, err := fast.DeferredIndexes(context.Background()); err != nil || n != 0 {
				t.Fatalf("synced with %d indexes still deferred (%v)", n, err)
			}
			if m := w.Metrics(); m.DeferredIndexes != 0 {
				t.Fatalf("metrics say %d indexes deferred", m.DeferredIndexes)
			}
			sameChecksums(t, checksums(t, plain), checksums(t, fast))
			if a, b := indexNames(t, fast), indexNames(t, plain); a != b {
				t.Fatalf("indexes after the load:\n%s\nwithout deferring:\n%s", a, b)
			}
		})
	}
}

// indexNames lists the database's index names, one per line, sorted.
func indexNames(t *testing.T, db *store.DB) string {
	t.Helper()
	var s string
	if err := db.Pool.QueryRow(context.Background(),
		"SELECT string_agg(indexname, E'\\n' ORDER BY indexname) FROM pg_indexes WHERE schemaname = current_schema()").Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}
