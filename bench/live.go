package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/ledgerscope/ledgerscope/ledgersync/memchain"
)

// live measures how long a committed block takes to reach PostgreSQL while the chain commits
// LiveRate tx/s: a block of LiveRate×LiveBlock txs is executed through the ledger app every
// LiveBlock, on the same machine as the worker and the database, as in the portal. The lag of
// a block runs from the app's commit to the commit of its rows and the cursor.
func (s *scratch) live(ctx context.Context, cfg SyncConfig, dir string, progress func(string, ...any)) (Row, error) {
	c, g, err := newBenchChain(dir)
	if err != nil {
		return Row{}, err
	}
	defer c.Close()
	perBlock := max(int(float64(cfg.LiveRate)*cfg.LiveBlock.Seconds()), 1)
	blocks := int(cfg.LiveFor / cfg.LiveBlock)
	progress("live: signing %d transactions", perBlock*blocks)
	tr, err := memchain.NewTraffic(memchain.TrafficConfig{Seed: benchSeed, ChainID: benchChain, Parties: min(5000, max(100, perBlock)), Txs: perBlock * blocks, FailEvery: 50})
	if err != nil {
		return Row{}, err
	}
	if _, err := c.Run(memchain.Traffic{Setup: tr.Setup}, 5000, benchGenesisTime, time.Second); err != nil {
		return Row{}, err
	}
	db, err := s.db(ctx, "live")
	if err != nil {
		return Row{}, err
	}
	w, err := startWorker(ctx, c, db, g)
	if err != nil {
		return Row{}, err
	}
	defer w.stop()
	if err := w.waitSynced(ctx, c.Height(), 10*time.Minute, nil); err != nil {
		return Row{}, fmt.Errorf("set-up: %w", err)
	}
	first := c.Height() + 1
	last := first + int64(blocks) - 1
	setupEnd := benchGenesisTime.Add(time.Duration(first) * time.Second)

	progress("live: %d blocks of %d txs, one every %s", blocks, perBlock, cfg.LiveBlock)
	// Written by the producer only; read once it has finished.
	committed := map[int64]time.Time{}
	produced := make(chan error, 1)
	start := time.Now()
	go func() {
		produced <- produceLive(ctx, c, tr.Load[:perBlock*blocks], perBlock, cfg.LiveBlock, setupEnd, start, committed)
	}()
	arrived := map[int64]time.Time{}
	err = w.waitSynced(ctx, last, cfg.LiveFor+5*time.Minute, func(h int64, at time.Time) { arrived[h] = at })
	elapsed := time.Since(start)
	if perr := <-produced; perr != nil {
		return Row{}, fmt.Errorf("producing blocks: %w", perr)
	}
	if err != nil {
		return Row{}, err
	}
	// The commit time is read just after the block became visible, so a block written within
	// the polling millisecond can look a hair early: such a lag counts as zero.
	var lags []time.Duration
	for h := first; h <= last; h++ {
		lags = append(lags, max(arrived[h].Sub(committed[h]), 0))
	}
	return liveRow(cfg, blocks, perBlock, elapsed, lags), nil
}

// produceLive commits a block of perBlock of the transactions txs every interval, and notes
// in committed when each was committed. Block time follows the wall clock since start, from
// setupEnd on.
func produceLive(ctx context.Context, c *memchain.Chain, txs [][]byte, perBlock int, every time.Duration,
	setupEnd, start time.Time, committed map[int64]time.Time) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for lo := 0; lo < len(txs); lo += perBlock {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		b, err := c.Next(setupEnd.Add(time.Since(start)), txs[lo:lo+perBlock])
		if err != nil {
			return err
		}
		committed[b.Height] = time.Now()
		// The worker has read it long before the next one: keep the memory flat.
		c.Drop(b.Height - 16)
	}
	return nil
}

// liveRow is the live lag's row: its p99, beside the rate achieved and the other
// percentiles.
func liveRow(cfg SyncConfig, blocks, perBlock int, elapsed time.Duration, lags []time.Duration) Row {
	rate := float64(perBlock*blocks) / elapsed.Seconds()
	p99 := percentile(lags, 0.99)
	return Row{Name: fmt.Sprintf("live lag at %d tx/s, p99", cfg.LiveRate), Value: p99.Seconds(), Unit: "s", Goal: 2, AtMost: true,
		Note: fmt.Sprintf("%d blocks of %d txs every %s executed in-process (%.0f tx/s achieved); from the app's commit to the rows' commit: p50 %.3f s, max %.3f s",
			blocks, perBlock, cfg.LiveBlock, rate, percentile(lags, 0.5).Seconds(), percentile(lags, 1).Seconds())}
}
