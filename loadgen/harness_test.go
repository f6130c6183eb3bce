package loadgen

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ledgerscope/ledgerscope/ledger"
)

const (
	testChainID  = "ledgerscope-loadgen-test"
	testDemoSeed = "devnet"
)

// chain drives a ledger.App block by block, as CometBFT would, and records every result.
type chain struct {
	t       testing.TB
	app     *ledger.App
	height  int64
	oracle  *oracle
	results map[ledger.Hash]ledger.Code
	byType  map[ledger.TxType]int
	byCode  map[ledger.Code]int
	// unexpected counts transactions whose code differs from what the generator expected.
	unexpected int
	txs        int
	labels     []Label
	expectOf   map[string]ledger.Code
}

func newChain(t testing.TB, start time.Time) *chain {
	t.Helper()
	app, err := ledger.NewApp(ledger.Config{Dir: t.TempDir(), CheckInvariants: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	genesis, err := json.Marshal(ledger.DemoGenesis(testDemoSeed))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.InitChain(context.Background(), &abci.InitChainRequest{
		ChainId: testChainID, AppStateBytes: genesis, InitialHeight: 1, Time: start,
	}); err != nil {
		t.Fatal(err)
	}
	c := &chain{
		t: t, app: app, results: map[ledger.Hash]ledger.Code{}, byType: map[ledger.TxType]int{},
		byCode: map[ledger.Code]int{}, expectOf: map[string]ledger.Code{},
	}
	app.View(func(st *ledger.State) { c.oracle = newOracle(st) })
	return c
}

// exec finalizes and commits one block at time at.
func (c *chain) exec(at time.Time, txs []*Tx) {
	c.t.Helper()
	c.height++
	raws := make([][]byte, len(txs))
	for i, tx := range txs {
		raws[i] = tx.Raw
	}
	resp, err := c.app.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{Height: c.height, Time: at, Txs: raws})
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.app.Commit(context.Background(), &abci.CommitRequest{}); err != nil {
		c.t.Fatalf("block %d: %v", c.height, err)
	}
	if err := c.oracle.block(at, raws, resp); err != nil {
		c.t.Fatal(err)
	}
	for i, tx := range txs {
		r := resp.TxResults[i]
		code := ledger.Code(r.Code)
		c.results[tx.Hash] = code
		c.byCode[code]++
		c.txs++
		if code == ledger.CodeOK {
			c.byType[tx.Type]++
		}
		if code != tx.Expect {
			c.unexpected++
			if c.unexpected <= 10 {
				c.t.Logf("block %d tx %d %s seq %d: code %s (%s), expected %s", c.height, i, tx.Type, tx.Seq, code, r.Log, tx.Expect)
			}
		}
		for _, l := range tx.Labels {
			c.labels = append(c.labels, l)
			c.expectOf[l.Tx] = tx.Expect
		}
	}
}

// phase runs blocks of about perBlock transactions, advancing the clock by step after each.
type phase struct {
	at       time.Time // zero: continue from the clock
	blocks   int
	perBlock int
	step     time.Duration
	// drain first finishes what is under way, in 5-second blocks, as the chain would before
	// the clock jumps to at: a market pause.
	drain bool
}

// drive runs the phases; the oracle reads WATCH against the generator's watch list, as the
// regulator would have uploaded it before the traffic.
func (c *chain) drive(g *Generator, clock *SimClock, phases ...phase) {
	c.t.Helper()
	if err := c.oracle.setWatchlist(g.Watchlist()); err != nil {
		c.t.Fatal(err)
	}
	for _, p := range phases {
		if p.drain {
			g.Drain()
			for i := 0; g.Pending() > 0; i++ {
				if i > 1000 {
					c.t.Fatalf("drain does not end: %d steps pending", g.Pending())
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

func testGenerator(t testing.TB, seed uint64, violations float64, clock *SimClock) *Generator {
	t.Helper()
	return testGeneratorOf(t, Config{Seed: seed, Violations: violations, Clock: clock, Population: 400})
}

func testGeneratorOf(t testing.TB, cfg Config) *Generator {
	t.Helper()
	cfg.ChainID, cfg.DemoSeed = testChainID, testDemoSeed
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
