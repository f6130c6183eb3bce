package loadgen

import (
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// BenchmarkPregenerate measures generation of signed mixed traffic, setup included, on every
// core: the rate the ledger benchmark can prepare transactions at.
func BenchmarkPregenerate(b *testing.B) {
	const n = 50_000
	for range b.N {
		g := testGenerator(b, 1, 0, NewSimClock(DefaultStart))
		txs := g.Pregenerate(n)
		if len(txs) != n {
			b.Fatalf("%d transactions, want %d", len(txs), n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tx/s")
}

// TestPregenerateBlocksExecute feeds pregenerated blocks, at their times, to the ledger: the
// ledger benchmark's signed mixed traffic must be valid traffic.
func TestPregenerateBlocksExecute(t *testing.T) {
	clock := NewSimClock(DefaultStart)
	g := testGeneratorOf(t, Config{Seed: 11, Clock: clock, Population: 150})
	setup := Block{Time: clock.Now(), Txs: g.SetupTxs()}
	clock.Advance(time.Second)
	blocks, err := g.PregenerateBlocks(4000, 500, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(setup.Txs) < 1000 {
		t.Fatalf("setup of %d transactions", len(setup.Txs))
	}
	blocks = append([]Block{setup}, blocks...)
	c := newChain(t, DefaultStart)
	at := clock.Now()
	flat := g.Pregenerate(1000) // the stream goes on where the blocks stopped
	blocks = append(blocks, Block{Time: at, Txs: flat[:500]}, Block{Time: at.Add(time.Second), Txs: flat[500:]})
	for _, b := range blocks {
		txs := make([]*Tx, len(b.Txs))
		for i, raw := range b.Txs {
			txs[i] = &Tx{Raw: raw, Hash: ledger.TxHash(raw)}
		}
		c.exec(b.Time, txs)
	}
	if c.unexpected > c.txs/100 {
		t.Errorf("%d of %d pregenerated transactions failed: %v", c.unexpected, c.txs, c.byCode)
	}
}
