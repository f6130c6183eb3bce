package compliance

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/ledger/loadgen"
	"github.com/ledgerscope/ledgerscope/ledger/node"
	"github.com/ledgerscope/ledgerscope/ledgersync"
	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	testChainID  = "ledgerscope-compliance-test"
	testDemoSeed = "devnet"
)

// chain executes loadgen's blocks through the ledger app, as CometBFT would, keeps the
// ground-truth labels of the transactions it commits, and serves the blocks to ledgersync.
type chain struct {
	t      testing.TB
	app    *ledger.App
	start  time.Time
	mu     sync.Mutex
	blocks []*node.CommittedBlock
	labels []loadgen.Label
}

var _ node.BlockSource = (*chain)(nil)

func newChain(t testing.TB, start time.Time) *chain {
	t.Helper()
	app, err := ledger.NewApp(ledger.Config{Dir: t.TempDir(), VerifyWorkers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	g, err := json.Marshal(ledger.DemoGenesis(testDemoSeed))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.InitChain(context.Background(), &abci.InitChainRequest{
		ChainId: testChainID, AppStateBytes: g, InitialHeight: 1, Time: start,
	}); err != nil {
		t.Fatal(err)
	}
	return &chain{t: t, app: app, start: start}
}

// exec finalizes and commits one block at time at.
func (c *chain) exec(at time.Time, txs []*loadgen.Tx) {
	c.t.Helper()
	raws := make([][]byte, len(txs))
	for i, tx := range txs {
		raws[i] = tx.Raw
	}
	resp := c.execRaw(at, raws)
	for i, tx := range txs {
		if ledger.Code(resp.TxResults[i].Code) == tx.Expect {
			c.labels = append(c.labels, tx.Labels...)
		} else if len(tx.Labels) > 0 {
			c.t.Logf("labelled %s ended %d, expected %s", tx.Type, resp.TxResults[i].Code, tx.Expect)
		}
	}
}

// execRaw finalizes and commits one block of raw transactions.
func (c *chain) execRaw(at time.Time, raws [][]byte) *abci.FinalizeBlockResponse {
	c.t.Helper()
	c.mu.Lock()
	h := int64(len(c.blocks)) + 1
	var prev []byte
	if h > 1 {
		prev = c.blocks[h-2].Hash
	}
	c.mu.Unlock()
	ctx := context.Background()
	resp, err := c.app.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: h, Time: at, Txs: raws})
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.app.Commit(ctx, &abci.CommitRequest{}); err != nil {
		c.t.Fatal(err)
	}
	hash := sha256.New()
	_ = binary.Write(hash, binary.BigEndian, h)
	hash.Write(prev)
	hash.Write(resp.AppHash)
	b := &node.CommittedBlock{
		Height: h, Time: at, Hash: hash.Sum(nil), ChainID: testChainID, Proposer: make([]byte, 20),
		Txs: raws, TxResults: resp.TxResults, Events: resp.Events, AppHash: resp.AppHash,
	}
	c.mu.Lock()
	c.blocks = append(c.blocks, b)
	c.mu.Unlock()
	return resp
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

// Height implements node.BlockSource.
func (c *chain) Height() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(len(c.blocks))
}

// Block implements node.BlockSource.
func (c *chain) Block(ctx context.Context, h int64) (*node.CommittedBlock, error) {
	for {
		c.mu.Lock()
		if h >= 1 && h <= int64(len(c.blocks)) {
			b := c.blocks[h-1]
			c.mu.Unlock()
			return b, nil
		}
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Status implements node.BlockSource.
func (c *chain) Status(context.Context) (node.Status, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := node.Status{ChainID: testChainID, LatestHeight: int64(len(c.blocks)), EarliestHeight: 1}
	if n := len(c.blocks); n > 0 {
		st.LatestTime = c.blocks[n-1].Time
		st.LatestBlockHash = c.blocks[n-1].Hash
	}
	return st, nil
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
		cur, err := db.Cursor(context.Background())
		if err == nil && cur.Height >= c.Height() {
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
