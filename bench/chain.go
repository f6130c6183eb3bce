package bench

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cometbft/cometbft/mempool"

	"github.com/ledgerscope/ledgerscope/devnet"
	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/node"
)

// submitAll sends txs to the devnet's validators from parallel workers. A signer's txs all go
// through one worker to one validator, in order, as one client's would.
func submitAll(ctx context.Context, net *devnet.Net, txs [][]byte, workers int) (rejected int64, err error) {
	queues := make([][][]byte, workers)
	for _, raw := range txs {
		dtx, err := ledger.DecodeTx(raw)
		if err != nil {
			return 0, err
		}
		a := dtx.Signer()
		h := fnv.New32a()
		h.Write(a[:])
		w := int(h.Sum32() % uint32(workers))
		queues[w] = append(queues[w], raw)
	}
	validators := validatorsOf(net)
	var rej atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w, q := range queues {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := validators[w%len(validators)].Node
			for _, raw := range q {
				if ctx.Err() != nil {
					return
				}
				for {
					res, err := n.SubmitTx(raw)
					var full mempool.ErrMempoolIsFull
					if errors.As(err, &full) {
						// Back-pressure: let a block drain the mempool.
						time.Sleep(20 * time.Millisecond)
						continue
					}
					if err != nil || res.Code != 0 {
						if rej.Add(1) == 1 {
							mu.Lock()
							firstErr = fmt.Errorf("first rejection: %v %v", err, res)
							mu.Unlock()
						}
					}
					break
				}
			}
		}()
	}
	wg.Wait()
	return rej.Load(), firstErr
}

func validatorsOf(net *devnet.Net) []*devnet.Member {
	var out []*devnet.Member
	for _, m := range net.Members {
		if m.Validator {
			out = append(out, m)
		}
	}
	return out
}

// waitTxs follows validator 0's blocks from height from until n transactions have been
// committed, and returns when the last of them was.
func waitTxs(ctx context.Context, src *node.Node, from int64, n int) (int64, time.Time, error) {
	seen := 0
	for h := from; ; h++ {
		b, err := src.Block(ctx, h)
		if err != nil {
			return h, time.Time{}, fmt.Errorf("block %d: %w", h, err)
		}
		seen += len(b.Txs)
		if seen >= n {
			return h, time.Now(), nil
		}
	}
}

// commitSetup submits each phase and waits until every validator has committed it, so that
// the next phase (and the load) finds the accounts it needs wherever it is submitted.
func commitSetup(ctx context.Context, net *devnet.Net, phases [][][]byte) error {
	v0 := net.Members[0]
	for i, phase := range phases {
		from := v0.App.Height() + 1
		rej, err := submitAll(ctx, net, phase, 1)
		if err != nil || rej > 0 {
			return fmt.Errorf("setup phase %d: %d rejected, %v", i, rej, err)
		}
		top, _, err := waitTxs(ctx, v0.Node, from, len(phase))
		if err != nil {
			return fmt.Errorf("setup phase %d: %w", i, err)
		}
		for _, m := range net.Members {
			if _, err := m.Node.Block(ctx, top); err != nil {
				return err
			}
		}
	}
	return nil
}

// quietLogger keeps the nodes' logs out of the table; BENCH_LOG=1 shows their warnings when a
// measure misbehaves, and BENCH_LOG=info their progress too (the sync's index rebuilds, say).
func quietLogger() *slog.Logger {
	switch os.Getenv("BENCH_LOG") {
	case "":
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	case "info":
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	default:
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
}

// DevnetThroughput runs a devnet of the given validators and measures how many signed txs per
// second it commits while clients submit as fast as it admits them.
func DevnetThroughput(ctx context.Context, home string, validators, basePort int, seed string, tr Traffic) (Row, error) {
	net, err := devnet.Start(ctx, devnet.Options{Home: home, Validators: validators, Seed: seed, BasePort: basePort, Logger: quietLogger()})
	if err != nil {
		return Row{}, err
	}
	defer net.Stop()
	v0 := net.Members[0]
	if err := commitSetup(ctx, net, tr.Setup); err != nil {
		return Row{}, err
	}
	from := v0.App.Height() + 1
	start := time.Now()
	type result struct {
		rejected int64
		err      error
	}
	done := make(chan result, 1)
	go func() {
		r, err := submitAll(ctx, net, tr.Load, 4*validators)
		done <- result{r, err}
	}()
	// The traffic is valid, so every tx must commit; a rejection shows as the deadline.
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	_, end, err := waitTxs(wctx, v0.Node, from, len(tr.Load))
	sub := <-done
	if err != nil {
		return Row{}, fmt.Errorf("waiting for commits (%d rejected by CheckTx): %w", sub.rejected, err)
	}
	if sub.err != nil {
		return Row{}, sub.err
	}
	rejected := sub.rejected
	rate := float64(len(tr.Load)) / end.Sub(start).Seconds()
	return Row{Name: fmt.Sprintf("devnet commit, %d validators", validators), Value: rate, Unit: "tx/s", Goal: 10_000,
		Note: fmt.Sprintf("%d signed txs submitted in-process, %d rejected by CheckTx", len(tr.Load), rejected)}, nil
}
