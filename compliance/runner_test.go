package compliance

import (
	"context"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

// TestPassFindingTooMuchIsSplit is the stall of a pass that finds more than a pass may hold
// (RAPID on memchain traffic, more than 100,000 findings in 200 blocks): the runner used to
// retry the same range for ever. With the bound lowered to 3 findings, blocks of 4 self-dealing
// transfers each must still all be written: the pass is split down to single blocks, and a
// single block is written whatever it finds. The result is the same as one unbounded pass.
func TestPassFindingTooMuchIsSplit(t *testing.T) {
	start := time.Date(2026, 11, 2, 10, 0, 0, 0, shanghai)
	b := newBuilder(t, start)
	var res uint64
	a := b.account(ledger.KindIndividual, "stall")
	to := b.account(ledger.KindIndividual, "stall")
	b.fund(a, 1_000_000_00, &res)
	const blocks, perBlock = 5, 4
	for range blocks {
		var txs [][]byte
		for range perBlock {
			txs = append(txs, b.sign(&ledger.Transfer{To: addr(to), Asset: ledger.CoinSymbol, Amount: 100_00}, a))
		}
		b.block(time.Minute, txs...)
	}

	ctx := context.Background()
	bounded := pgtest.New(t)
	syncAll(t, b.c, bounded)
	r, err := NewRunner(RunnerConfig{DB: bounded, MaxBatchBlocks: 100, MaxFindings: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		n, err := r.Step(ctx)
		if err != nil {
			t.Fatalf("pass %d: %v", i, err)
		}
		if n == 0 {
			break
		}
		if i > 100 {
			t.Fatal("runner does not catch up")
		}
	}
	cc, err := bounded.GetComplianceCursor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cc.Height != b.c.Height() {
		t.Fatalf("rules cursor at %d, chain at %d", cc.Height, b.c.Height())
	}
	if n := countRule(t, bounded, RuleSelf); n != blocks*perBlock {
		t.Errorf("SELF: %d violations, want %d", n, blocks*perBlock)
	}

	whole := pgtest.New(t)
	syncAll(t, b.c, whole)
	runAll(t, whole, 100)
	if got, want := violationDigest(t, bounded), violationDigest(t, whole); got != want {
		t.Errorf("split passes wrote other violations than one pass")
	}
}
