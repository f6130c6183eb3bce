package compliance

import (
	"context"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/ledgersync"
	"github.com/ledgerscope/ledgerscope/ledgersync/memchain"
	"github.com/ledgerscope/ledgerscope/loadgen"
	"github.com/ledgerscope/ledgerscope/node"
	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	testChainID  = "ledgerscope-compliance-test"
	testDemoSeed = "devnet"
)

// chain executes loadgen's blocks through the ledger app (memchain serves them to
// ledgersync) and keeps the ground-truth labels of the transactions it commits.
type chain struct {
	*memchain.Chain
	t      testing.TB
	start  time.Time
	labels []loadgen.Label
}

func newChain(t testing.TB, first time.Time) *chain {
	t.Helper()
	// memchain wants every block after genesis; tests put their first block at first.
	start := first.Add(-time.Second)
	mc, err := memchain.New(memchain.Config{
		Dir: t.TempDir(), ChainID: testChainID, Genesis: ledger.DemoGenesis(testDemoSeed), GenesisTime: start, VerifyWorkers: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mc.Close() })
	return &chain{Chain: mc, t: t, start: start}
}

// exec finalizes and commits one block at time at.
func (c *chain) exec(at time.Time, txs []*loadgen.Tx) {
	c.t.Helper()
	raws := make([][]byte, len(txs))
	for i, tx := range txs {
		raws[i] = tx.Raw
	}
	b := c.execRaw(at, raws)
	for i, tx := range txs {
		if ledger.Code(b.TxResults[i].Code) == tx.Expect {
			c.labels = append(c.labels, tx.Labels...)
		} else if len(tx.Labels) > 0 {
			c.t.Logf("labelled %s ended %d, expected %s", tx.Type, b.TxResults[i].Code, tx.Expect)
		}
	}
}

// execRaw finalizes and commits one block of raw transactions.
func (c *chain) execRaw(at time.Time, raws [][]byte) *node.CommittedBlock {
	c.t.Helper()
	b, err := c.Next(at, raws)
	if err != nil {
		c.t.Fatal(err)
	}
	return b
}

// phase runs blocks of about perBlock transactions, advancing the clock by step after each.
type phase struct {
	at       time.Time
	blocks   int
	perBlock int
	step     time.Duration
	drain    bool
}

func (c *chain) drive(g *loadgen.Generator, clock *loadgen.SimClock, phases ...phase) {
	c.t.Helper()
	for _, p := range phases {
		if p.drain {
			g.Drain()
			for i := 0; g.Pending() > 0; i++ {
				if i > 1000 {
					c.t.Fatalf("drain does not end: %d pending", g.Pending())
				}
				c.exec(clock.Now(), g.Next(max(p.perBlock, 100)))
				clock.Advance(5 * time.Second)
			}
			g.Resume()
		}
		if !p.at.IsZero() {
			clock.Set(p.at)
		}
		for range p.blocks {
			c.exec(clock.Now(), g.Next(p.perBlock))
			clock.Advance(p.step)
		}
	}
}

// tradingDay is loadgen's own test schedule: a morning, an afternoon after the lunch
// break, the next morning, and blocks after the close for the last deadlines to pass.
func tradingDay(perBlock int) []phase {
	day := loadgen.DefaultStart
	return []phase{
		{at: day, blocks: 80, perBlock: perBlock, step: 60 * time.Second},
		{at: day.Add(3*time.Hour + 35*time.Minute), blocks: 25, perBlock: perBlock, step: 60 * time.Second, drain: true},
		{at: day.Add(24*time.Hour + time.Minute), blocks: 25, perBlock: perBlock, step: 30 * time.Second, drain: true},
		{blocks: 6, perBlock: 0, step: 2 * time.Minute, drain: true},
	}
}

// syncAll writes every block of the chain into db with ledgersync and returns when the sync
// cursor reaches the chain's height.
func syncAll(t testing.TB, c *chain, db *store.DB) {
	t.Helper()
	g, err := ledgersync.GenesisRows(testChainID, c.start, ledger.DemoGenesis(testDemoSeed))
	if err != nil {
		t.Fatal(err)
	}
	w, err := ledgersync.New(ledgersync.Config{Source: c, DB: db, Genesis: g, RetryMin: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	deadline := time.Now().Add(90 * time.Second)
	for {
		// The worker's synced height counts an initial load's indexes rebuilt, which the
		// rules wait for; the cursor alone moves before that.
		if w.Metrics().SyncedHeight >= c.Height() {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("sync did not reach %d", c.Height())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// runAll runs the rules until they have caught up with the sync cursor.
func runAll(t testing.TB, db *store.DB, batch int64) {
	t.Helper()
	r, err := NewRunner(RunnerConfig{DB: db, MaxBatchBlocks: batch})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		n, err := r.Step(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if i > 100_000 {
			t.Fatal("runner does not catch up")
		}
	}
}
