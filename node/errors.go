package node

import (
	"errors"
	"fmt"
)

var (
	// ErrAppHashMismatch reports that the application's app hash after a block differs
	// from the one the validators committed to in the next header: this node's state has
	// diverged from the chain and it must not serve it.
	ErrAppHashMismatch = errors.New("app hash disagrees with the chain")

	// ErrResultsMismatch reports that the application's transaction results for a block
	// hash differently from the ones the validators committed to: execution is not
	// deterministic across nodes.
	ErrResultsMismatch = errors.New("transaction results disagree with the chain")

	// ErrConsensusFailure reports that CometBFT's consensus state machine stopped on an
	// internal failure; the node no longer follows the chain.
	ErrConsensusFailure = errors.New("consensus failure")

	// ErrStopped is returned by reads from a node that has stopped.
	ErrStopped = errors.New("node stopped")

	// ErrPruned matches (with errors.Is) every *PrunedError.
	ErrPruned = errors.New("height not available")

	// ErrInvalidHeight is returned for heights below 1.
	ErrInvalidHeight = errors.New("invalid height")
)

// PrunedError reports that a height is below the earliest block the node still holds,
// so a reader can resume from Earliest or fetch the gap elsewhere.
type PrunedError struct {
	// Height is the height that was asked for.
	Height int64
	// Earliest is the lowest height the node can serve, or 0 if it holds no block yet.
	Earliest int64
}

// Error implements error.
func (e *PrunedError) Error() string {
	return fmt.Sprintf("block %d is not available: the earliest height held is %d", e.Height, e.Earliest)
}

// Is makes errors.Is(err, ErrPruned) true for every PrunedError.
func (e *PrunedError) Is(target error) bool { return target == ErrPruned }
