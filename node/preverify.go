package node

import (
	"sync"

	bcproto "github.com/cometbft/cometbft/api/cometbft/blocksync/v1"
	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
)

// Preverifier is an application that can check the signatures of a block's transactions
// before the block's turn to execute. A node catching up by block sync receives blocks well
// ahead of executing them, and between two blocks CometBFT's own bookkeeping (storing the
// block and its results, hashing them, publishing events) runs on one core for about a third
// of the time: checking the next blocks' signatures then fills the idle one. It must change
// no state, only make a later FinalizeBlock cheaper.
type Preverifier interface {
	// Preverify checks the signatures of txs, the transactions of the block at height. It
	// may stop early, for instance once that height is executing.
	Preverify(height int64, txs [][]byte)
}

// maxPreverifyBlocks bounds the received blocks waiting for Preverify, and with them the scan
// that picks the lowest: many small blocks would otherwise make each pick cost thousands.
const maxPreverifyBlocks = 512

// maxPreverifyTxs bounds the transactions of received blocks waiting for Preverify. Block
// sync fetches far ahead, and a block that finds the bound reached is never offered again, so
// it is generous: the bytes are the block sync pool's, held anyway. Blocks are checked lowest
// first, so what Preverify prepares is taken by the next blocks to execute; the app bounds
// how far ahead of execution it holds them.
const maxPreverifyTxs = 1_000_000

// preverifyOption puts a reactor in front of CometBFT's block sync reactor that hands the
// transactions of every block a peer sends to pv, on a goroutine of its own, until done.
func preverifyOption(pv Preverifier, done <-chan struct{}) cmtnode.Option {
	return func(n *cmtnode.Node) {
		sw := n.Switch()
		inner := sw.Reactor("BLOCKSYNC")
		if inner == nil {
			return
		}
		r := &preverifyReactor{Reactor: inner, pv: pv, blocks: map[int64][][]byte{}, wake: make(chan struct{}, 1)}
		// The same channels, so the node's advertised channels stay as they are.
		sw.RemoveReactor("BLOCKSYNC", inner)
		sw.AddReactor("BLOCKSYNC", r)
		go r.run(done)
	}
}

// preverifyReactor is CometBFT's block sync reactor with a look at the blocks it receives.
type preverifyReactor struct {
	p2p.Reactor
	pv Preverifier

	mu     sync.Mutex
	blocks map[int64][][]byte // received, not yet handed to pv
	txs    int                // in blocks
	// handed is the highest height handed to pv: a block that arrives again (block sync
	// asks another peer after a timeout) or late is not checked twice.
	handed int64
	wake   chan struct{}
}

// Receive notes a block's transactions, then passes the message on unchanged.
func (r *preverifyReactor) Receive(e p2p.Envelope) {
	if m, ok := e.Message.(*bcproto.BlockResponse); ok && m.Block != nil && len(m.Block.Data.Txs) > 0 {
		r.add(m.Block.Header.Height, m.Block.Data.Txs)
	}
	r.Reactor.Receive(e)
}

// add keeps a block for pre-verification unless that would exceed the bound: a block left
// out is verified when it executes, as it would be anyway.
func (r *preverifyReactor) add(h int64, txs [][]byte) {
	r.mu.Lock()
	if _, dup := r.blocks[h]; dup || h <= r.handed || len(r.blocks) >= maxPreverifyBlocks || r.txs+len(txs) > maxPreverifyTxs {
		r.mu.Unlock()
		return
	}
	r.blocks[h] = txs
	r.txs += len(txs)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// next takes the lowest received height, the next to execute.
func (r *preverifyReactor) next() (int64, [][]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var low int64 = -1
	for h := range r.blocks {
		if low < 0 || h < low {
			low = h
		}
	}
	if low < 0 {
		return 0, nil, false
	}
	txs := r.blocks[low]
	delete(r.blocks, low)
	r.handed = max(r.handed, low)
	r.txs -= len(txs)
	return low, txs, true
}

func (r *preverifyReactor) run(done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-r.wake:
		}
		for {
			h, txs, ok := r.next()
			if !ok {
				break
			}
			r.pv.Preverify(h, txs)
		}
	}
}
