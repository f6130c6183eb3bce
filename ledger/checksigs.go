package ledger

import (
	"runtime"
	"sync"
)

// maxCheckBatch bounds the signatures one CheckTx batch verifies, so that a caller that
// arrives behind a long queue waits for a batch of this size at most.
const maxCheckBatch = 256

// checkVerifier verifies the signatures of concurrent CheckTx calls together. A signature
// checked alone costs about 29 µs on the project's machine, one in a batch of 16 about 15:
// calls that arrive while the workers are busy wait and are verified in the next batch,
// and a call that finds a worker idle is verified at once, so an idle node adds no delay.
// CheckTx runs on many goroutines at once (RPC requests, one per peer's gossip) when the
// node's ABCI concurrency allows it, which ledger/node's devnet and portal do.
type checkVerifier struct {
	reqs      chan *sigRequest
	startOnce sync.Once
	stopOnce  sync.Once
	stop      chan struct{}
}

// sigRequest is one CheckTx's tx waiting for its verdict.
type sigRequest struct {
	dtx  *DecodedTx
	ok   bool
	done chan struct{}
}

func newCheckVerifier() *checkVerifier {
	return &checkVerifier{reqs: make(chan *sigRequest, maxCheckBatch), stop: make(chan struct{})}
}

// verify reports whether every signature of dtx verifies. After close it verifies on the
// caller's goroutine.
func (v *checkVerifier) verify(dtx *DecodedTx) bool {
	v.startOnce.Do(func() {
		for range runtime.GOMAXPROCS(0) {
			go v.run()
		}
	})
	r := &sigRequest{dtx: dtx, done: make(chan struct{})}
	select {
	case v.reqs <- r:
	case <-v.stop:
		return VerifySignatures(dtx) == nil
	}
	select {
	case <-r.done:
		return r.ok
	case <-v.stop:
		// A worker may have taken r before stopping: its verdict would still come, but
		// verifying again is as good and never waits.
		return VerifySignatures(dtx) == nil
	}
}

// close stops the workers; calls after it verify on their own goroutine.
func (v *checkVerifier) close() { v.stopOnce.Do(func() { close(v.stop) }) }

// run takes a waiting request, and with it every other one already queued, and verifies
// them as one batch.
func (v *checkVerifier) run() {
	batch := make([]*sigRequest, 0, maxCheckBatch)
	txs := make([]*DecodedTx, 0, maxCheckBatch)
	ok := make([]bool, maxCheckBatch)
	for {
		batch, txs = batch[:0], txs[:0]
		select {
		case r := <-v.reqs:
			batch = append(batch, r)
		case <-v.stop:
			return
		}
	queued:
		for len(batch) < maxCheckBatch {
			select {
			case r := <-v.reqs:
				batch = append(batch, r)
			default:
				break queued
			}
		}
		if len(batch) == 1 {
			// A batch of one costs more than a plain verification.
			batch[0].ok = VerifySignatures(batch[0].dtx) == nil
		} else {
			for _, r := range batch {
				txs = append(txs, r.dtx)
			}
			clear(ok)
			verifyBatch(txs, ok[:len(txs)])
			for i, r := range batch {
				r.ok = ok[i]
			}
		}
		for _, r := range batch {
			close(r.done)
		}
	}
}
