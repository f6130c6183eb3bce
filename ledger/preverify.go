package ledger

import (
	"bytes"
	"sync"
	"time"
)

// maxPreparedTxs bounds the transactions Preverify holds prepared for blocks not yet
// executing. Preverify runs beside execution and would otherwise race ahead of it by the
// whole block sync window; a few blocks' worth keeps both cores busy.
const maxPreparedTxs = 1 << 18

// preparedWait is how long Preverify waits for execution to take a block before it gives
// up on the next one: a node that stopped executing must not hold its goroutine forever.
const preparedWait = 5 * time.Second

// preparedBlocks hands the transactions Preverify decoded, hashed and verified to the
// FinalizeBlock of their height, so that they are neither decoded nor hashed again nor
// looked up in the signature cache one by one.
type preparedBlocks struct {
	mu     sync.Mutex
	blocks map[int64]*preparedBlock
	held   int           // txs in blocks
	space  chan struct{} // a token whenever FinalizeBlock takes a block
}

// preparedBlock is one block's txs as Preverify received them and the prefix of them it has
// prepared so far. Entries at or past done may still be being written.
type preparedBlock struct {
	txs  [][]byte
	out  []preparedTx
	done int
}

func newPreparedBlocks() *preparedBlocks {
	return &preparedBlocks{blocks: map[int64]*preparedBlock{}, space: make(chan struct{}, 1)}
}

// reserve registers a block about to be prepared, waiting while too many are held. It
// returns nil when the block will not be prepared: already registered, or no room in time.
func (p *preparedBlocks) reserve(height int64, txs [][]byte, executing func() int64) *preparedBlock {
	deadline := time.Now().Add(preparedWait)
	for {
		p.mu.Lock()
		if _, dup := p.blocks[height]; dup {
			p.mu.Unlock()
			return nil
		}
		if p.held == 0 || p.held+len(txs) <= maxPreparedTxs {
			b := &preparedBlock{txs: txs, out: make([]preparedTx, len(txs))}
			p.blocks[height] = b
			p.held += len(txs)
			p.mu.Unlock()
			return b
		}
		p.mu.Unlock()
		left := time.Until(deadline)
		if left <= 0 || height <= executing() {
			return nil
		}
		select {
		case <-p.space:
		case <-time.After(min(left, 50*time.Millisecond)):
		}
	}
}

// advance records that b's txs up to done are prepared. It reports false once b's height has
// been taken, when preparing the rest is no use.
func (p *preparedBlocks) advance(height int64, b *preparedBlock, done int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.blocks[height] != b {
		return false
	}
	b.done = done
	return true
}

// take removes and returns the block at height with its prepared prefix length, dropping
// any lower heights left behind; nil if Preverify never reached it.
func (p *preparedBlocks) take(height int64) (*preparedBlock, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var got *preparedBlock
	done := 0
	for h, b := range p.blocks {
		if h > height {
			continue
		}
		if h == height {
			got, done = b, b.done
		}
		delete(p.blocks, h)
		p.held -= len(b.txs)
	}
	select {
	case p.space <- struct{}{}:
	default:
	}
	return got, done
}

// reuse copies into out the entries of b's prepared prefix [lo, hi) whose bytes are the
// block's, and returns the indexes it could not reuse. Block sync hands Preverify and
// FinalizeBlock the same slices, so bytes.Equal usually finds one pointer on both sides.
func (b *preparedBlock) reuse(txs [][]byte, out []preparedTx, lo, hi, done int) (missing []int) {
	for i := lo; i < hi; i++ {
		if i >= done || !bytes.Equal(b.txs[i], txs[i]) {
			missing = append(missing, i)
			continue
		}
		out[i] = b.out[i]
	}
	return missing
}
