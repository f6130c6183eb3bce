package portal

import (
	"sync/atomic"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/ledgerscope/ledgerscope/ledgersync"
)

// retainer decides how many blocks the portal's node keeps (Config.RetainBlocks). Blocks the
// sync has written are in PostgreSQL, so the node's copy of them serves nobody but peers
// catching up, which the validators serve; a block the sync has not read yet must stay, for
// the sync reads it from the node's block store.
type retainer struct {
	keep   int64
	worker atomic.Pointer[ledgersync.Worker] // set once the sync part has started
	last   atomic.Int64                      // the last retain height given
}

// height is the lowest block the node must keep after committing height, or 0 for no
// change. CometBFT calls it from its consensus goroutine (through the ledger app's Commit),
// before the sync part may have started: until then nothing is pruned.
func (r *retainer) height(committed int64) int64 {
	w := r.worker.Load()
	if r.keep <= 0 || w == nil {
		return 0
	}
	h := retainHeight(committed, r.keep, w.Metrics().SyncedHeight)
	// CometBFT refuses to lower a retain height, and says so in its log: give only rises.
	if h <= r.last.Load() {
		return 0
	}
	r.last.Store(h)
	return h
}

// retainHeight is keep blocks behind committed, but never past the block after the synced
// one; 0 while there is nothing to prune.
func retainHeight(committed, keep, synced int64) int64 {
	h := min(committed-keep, synced+1)
	if h <= 1 {
		return 0
	}
	return h
}

// retainCompactionInterval is how many heights apart CometBFT compacts its stores while it
// prunes: pruning only marks entries deleted, and a compaction gives their space back.
const retainCompactionInterval = 10_000

// tunePruning makes the node compact the stores it prunes.
func tunePruning(cfg *cmtcfg.Config) {
	cfg.Storage.Compact = true
	cfg.Storage.CompactionInterval = retainCompactionInterval
}
