package loadgen

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRestoreContinuesAChain(t *testing.T) {
	ctx := context.Background()
	clock := NewSimClock(DefaultStart)
	c := newChain(t, DefaultStart)
	first := testGenerator(t, 1, 0, clock)
	c.drive(first, clock, phase{blocks: 30, perBlock: 150, step: 30 * time.Second}, phase{drain: true})

	// A second run, with its own seed, continues on the chain the first one set up.
	second := testGenerator(t, 9, 0, clock)
	if err := second.Restore(ctx, AppQuerier{c.app}); err != nil {
		t.Fatal(err)
	}
	before, failedBefore := c.txs, c.unexpected
	c.drive(second, clock, phase{blocks: 30, perBlock: 150, step: 30 * time.Second}, phase{drain: true})
	n, failed := c.txs-before, c.unexpected-failedBefore
	t.Logf("restored run: %d txs, %d unexpected; by type %v", n, failed, c.byType)
	if failed > n/100 {
		t.Errorf("restored run: %d of %d transactions did not do what was expected", failed, n)
	}
	for rule, subjects := range c.oracle.subjects {
		t.Errorf("the two clean runs trip %s for %d subjects", rule, len(subjects))
	}

	// The first seed's accounts exist: a third run with it is refused.
	if err := testGenerator(t, 1, 0, clock).Restore(ctx, AppQuerier{c.app}); !errors.Is(err, ErrSeedUsed) {
		t.Errorf("restore with a used seed: %v, want ErrSeedUsed", err)
	}
	// A chain without the setup is refused.
	empty := newChain(t, DefaultStart)
	if err := testGenerator(t, 2, 0, clock).Restore(ctx, AppQuerier{empty.app}); !errors.Is(err, ErrNoSetup) {
		t.Errorf("restore on an empty chain: %v, want ErrNoSetup", err)
	}
}
