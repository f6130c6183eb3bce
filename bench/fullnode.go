package bench

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/ledgerscope/ledgerscope/devnet"
)

// FullNodeSync builds a chain of the traffic with one validator, then starts a non-validating
// full node that block-syncs it from scratch: verifying every commit, re-executing every tx
// and checking the app hash of every block. Its rate is the portal's catch-up speed.
func FullNodeSync(ctx context.Context, home string, basePort int, seed string, tr Traffic) (Row, error) {
	net, err := devnet.Start(ctx, devnet.Options{Home: home, Validators: 1, Seed: seed, BasePort: basePort, Logger: quietLogger()})
	if err != nil {
		return Row{}, err
	}
	defer net.Stop()
	v0 := net.Members[0]
	if err := commitSetup(ctx, net, tr.Setup); err != nil {
		return Row{}, err
	}
	from := v0.App.Height() + 1
	if _, err := submitAll(ctx, net, tr.Load, 4); err != nil {
		return Row{}, err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	top, _, err := waitTxs(wctx, v0.Node, from, len(tr.Load))
	if err != nil {
		return Row{}, fmt.Errorf("building the chain: %w", err)
	}
	began := time.Now()
	full, err := net.AddFullNode(ctx, "FULL", 2)
	if err != nil {
		return Row{}, err
	}
	// The clock starts at the first block applied, so that start-up (reported on its own row)
	// does not dilute the sync rate.
	for full.App.Height() < from {
		time.Sleep(time.Millisecond)
	}
	stopProfile := profileIf(os.Getenv("BENCH_PROFILE_SYNC"))
	start, cpu0 := time.Now(), cpuTime()
	if _, err := full.Node.Block(wctx, top); err != nil {
		return Row{}, fmt.Errorf("full node sync: %w", err)
	}
	for full.App.Height() < top {
		time.Sleep(time.Millisecond)
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	stopProfile()
	return Row{Name: "full-node validation (block sync)", Value: float64(len(tr.Load)) / elapsed.Seconds(), Unit: "tx/s", Goal: 100_000,
		Note: fmt.Sprintf("%d txs in blocks %d-%d after %.1fs start-up, %.1f CPU-µs/tx, own signature cache",
			len(tr.Load), from, top, start.Sub(began).Seconds(), float64(cpu.Microseconds())/float64(len(tr.Load)))}, nil
}

// profileIf writes a CPU profile of what follows to path, when path is set (BENCH_PROFILE_SYNC
// profiles just the sync window), and returns the function that ends it.
func profileIf(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
