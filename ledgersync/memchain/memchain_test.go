package memchain

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/node"
)

// TestTrafficCommits runs the traffic through a chain: the set-up all succeeds, exactly the
// asked-for load txs fail, and blocks read back in order until dropped.
func TestTrafficCommits(t *testing.T) {
	const chainID = "memchain-test"
	start := time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC)
	c, err := New(Config{Dir: t.TempDir(), ChainID: chainID, Genesis: ledger.DemoGenesis("m"), GenesisTime: start})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tr, err := NewTraffic(TrafficConfig{Seed: "m", ChainID: chainID, Parties: 20, Txs: 2000, FailEvery: 100})
	if err != nil {
		t.Fatal(err)
	}
	failed, err := c.Run(tr, 300, start, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if failed != 20 {
		t.Fatalf("%d load txs failed, want 20", failed)
	}
	var st ledger.Stats
	c.App().View(func(s *ledger.State) { st = s.Stats })
	if st.Failed != 20 || st.Txs != uint64(2000+len(tr.Setup[0])+len(tr.Setup[1])) {
		t.Fatalf("stats %+v", st)
	}
	ctx := context.Background()
	top := c.Height()
	for h := int64(1); h <= top; h++ {
		b, err := c.Block(ctx, h)
		if err != nil || b.Height != h || len(b.TxResults) != len(b.Txs) {
			t.Fatalf("block %d: %v", h, err)
		}
	}
	c.Drop(3)
	if _, err := c.Block(ctx, 2); !errors.Is(err, node.ErrPruned) {
		t.Fatalf("dropped block: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := c.Block(wctx, top+1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("future block: %v", err)
	}
	if _, err := c.Next(start, nil); err == nil {
		t.Fatal("a block back in time was accepted")
	}
}
