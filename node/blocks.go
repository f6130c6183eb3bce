package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	abcitypes "github.com/cometbft/cometbft/abci/types"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	sm "github.com/cometbft/cometbft/state"
	"github.com/cometbft/cometbft/types"
)

// CommittedBlock is one committed block with its execution results.
type CommittedBlock struct {
	// Height is the block's height.
	Height int64
	// Time is the block's header time, agreed by the validators: the ledger's clock.
	Time time.Time
	// Hash is the block hash.
	Hash []byte
	// ChainID is the chain the block belongs to.
	ChainID string
	// Proposer is the address of the validator that proposed the block.
	Proposer []byte
	// Txs are the block's transactions in order, failed ones included.
	Txs [][]byte
	// TxResults holds one execution result per transaction, in the same order.
	TxResults []*abcitypes.ExecTxResult
	// Events are the FinalizeBlock-level events, those not tied to one transaction.
	Events []abcitypes.Event
	// AppHash is the app hash after executing this block, from the FinalizeBlock
	// response; the chain commits to it in the next block's header.
	AppHash []byte
}

// BlockSource yields committed blocks in height order.
type BlockSource interface {
	// Block returns the committed block at height h, waiting until it is committed or ctx ends.
	Block(ctx context.Context, h int64) (*CommittedBlock, error)
	// Status reports the node's view: latest height and time, catching up, peers, validators.
	Status(ctx context.Context) (Status, error)
}

// Status is a node's view of the chain.
type Status struct {
	// NodeID is the node's peer-to-peer id.
	NodeID string
	// Moniker is the node's name.
	Moniker string
	// ChainID is the chain the node follows.
	ChainID string
	// Version is the node's CometBFT version.
	Version string
	// LatestHeight is the height of the latest block the node stored.
	LatestHeight int64
	// LatestTime is that block's header time.
	LatestTime time.Time
	// LatestBlockHash is that block's hash.
	LatestBlockHash []byte
	// LatestAppHash is the app hash in that block's header: the state after the block
	// before it.
	LatestAppHash []byte
	// EarliestHeight is the lowest height the node can serve.
	EarliestHeight int64
	// CatchingUp is true while the node block-syncs from its peers.
	CatchingUp bool
	// ValidatorAddress is the node's consensus address (a throwaway one for a full node).
	ValidatorAddress []byte
	// VotingPower is the node's voting power, 0 unless it is in the validator set.
	VotingPower int64
	// Peers are the connected peers.
	Peers []Peer
	// Validators is the validator set for the next block.
	Validators []Validator
}

// Peer is one connected peer.
type Peer struct {
	// ID is the peer's node id.
	ID string
	// Moniker is the peer's name.
	Moniker string
	// RemoteIP is the peer's IP address.
	RemoteIP string
	// Outbound is true when this node dialled the peer.
	Outbound bool
}

// Validator is one member of a validator set.
type Validator struct {
	// Address is the validator's consensus address.
	Address []byte
	// PubKeyType names the key's algorithm, e.g. "ed25519".
	PubKeyType string
	// PubKey is the validator's public key bytes.
	PubKey []byte
	// Power is the validator's voting power.
	Power int64
}

// committedBlock assembles a CommittedBlock from a block and its FinalizeBlock results.
func committedBlock(b *types.Block, id types.BlockID, txResults []*abcitypes.ExecTxResult,
	events []abcitypes.Event, appHash []byte,
) (*CommittedBlock, error) {
	if len(txResults) != len(b.Txs) {
		return nil, fmt.Errorf("block %d has %d txs but %d results", b.Height, len(b.Txs), len(txResults))
	}
	txs := make([][]byte, len(b.Txs))
	for i, tx := range b.Txs {
		txs[i] = tx
	}
	return &CommittedBlock{
		Height:    b.Height,
		Time:      b.Time,
		Hash:      id.Hash,
		ChainID:   b.ChainID,
		Proposer:  b.ProposerAddress,
		Txs:       txs,
		TxResults: txResults,
		Events:    events,
		AppHash:   appHash,
	}, nil
}

// statusFrom builds a Status from the RPC results that both BlockSources read, so the
// embedded and the remote view cannot drift apart.
func statusFrom(st *ctypes.ResultStatus, net *ctypes.ResultNetInfo, vals []*types.Validator) Status {
	s := Status{
		NodeID:           string(st.NodeInfo.DefaultNodeID),
		Moniker:          st.NodeInfo.Moniker,
		ChainID:          st.NodeInfo.Network,
		Version:          st.NodeInfo.Version,
		LatestHeight:     st.SyncInfo.LatestBlockHeight,
		LatestTime:       st.SyncInfo.LatestBlockTime,
		LatestBlockHash:  st.SyncInfo.LatestBlockHash,
		LatestAppHash:    st.SyncInfo.LatestAppHash,
		EarliestHeight:   st.SyncInfo.EarliestBlockHeight,
		CatchingUp:       st.SyncInfo.CatchingUp,
		ValidatorAddress: st.ValidatorInfo.Address,
		VotingPower:      st.ValidatorInfo.VotingPower,
	}
	if net != nil {
		for _, p := range net.Peers {
			s.Peers = append(s.Peers, Peer{
				ID:       string(p.NodeInfo.DefaultNodeID),
				Moniker:  p.NodeInfo.Moniker,
				RemoteIP: p.RemoteIP,
				Outbound: p.IsOutbound,
			})
		}
	}
	for _, v := range vals {
		s.Validators = append(s.Validators, Validator{
			Address:    v.Address,
			PubKeyType: v.PubKey.Type(),
			PubKey:     v.PubKey.Bytes(),
			Power:      v.VotingPower,
		})
	}
	return s
}

// validatorsPerPage is the most validators CometBFT's validators call returns at once.
const validatorsPerPage = 100

// maxValidatorPages bounds the pages read; a consortium has far fewer validators.
const maxValidatorPages = 100

// allValidators reads every page of a validator set through fetch. A node that is
// block-syncing and has stored no block yet has no validator set to report (CometBFT's
// RPC fails for height 0), so latest == 0 with an error yields no validators.
func allValidators(latest int64, fetch func(page, perPage int) (*ctypes.ResultValidators, error)) ([]*types.Validator, error) {
	var vals []*types.Validator
	for page := 1; page <= maxValidatorPages; page++ {
		res, err := fetch(page, validatorsPerPage)
		if err != nil && latest == 0 {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("validators page %d: %w", page, err)
		}
		vals = append(vals, res.Validators...)
		if len(vals) >= res.Total || len(res.Validators) == 0 {
			return vals, nil
		}
	}
	return nil, fmt.Errorf("validator set larger than %d", maxValidatorPages*validatorsPerPage)
}

// heightWatch holds the last height whose block, results and state are saved, and
// wakes waiters when it grows.
type heightWatch struct {
	mu      sync.Mutex
	h       int64
	changed chan struct{}
}

func newHeightWatch() heightWatch {
	return heightWatch{changed: make(chan struct{})}
}

func (w *heightWatch) advance(h int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if h > w.h {
		w.h = h
		close(w.changed)
		w.changed = make(chan struct{})
	}
}

// get returns the height and a channel closed when it next grows.
func (w *heightWatch) get() (int64, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.h, w.changed
}

func (w *heightWatch) height() int64 {
	h, _ := w.get()
	return h
}

// commitWatch wraps the application to learn each height the moment the app has committed
// it. CometBFT stores the block and its FinalizeBlock response before it calls Commit, so
// Block can serve the height from then on. Following CometBFT's event bus instead would make
// CometBFT match every transaction's events against the subscription, a cost per tx.
type commitWatch struct {
	abcitypes.Application
	tip       *heightWatch
	finalized atomic.Int64
}

// FinalizeBlock notes the height being executed.
func (c *commitWatch) FinalizeBlock(ctx context.Context, req *abcitypes.FinalizeBlockRequest) (*abcitypes.FinalizeBlockResponse, error) {
	resp, err := c.Application.FinalizeBlock(ctx, req)
	if err == nil {
		c.finalized.Store(req.Height)
	}
	return resp, err
}

// Commit advances the committed height once the app has committed.
func (c *commitWatch) Commit(ctx context.Context, req *abcitypes.CommitRequest) (*abcitypes.CommitResponse, error) {
	resp, err := c.Application.Commit(ctx, req)
	if err == nil {
		c.tip.advance(c.finalized.Load())
	}
	return resp, err
}

// Block implements BlockSource from the node's block and state stores.
func (n *Node) Block(ctx context.Context, h int64) (*CommittedBlock, error) {
	if h < 1 {
		return nil, fmt.Errorf("block %d: %w", h, ErrInvalidHeight)
	}
	for {
		tip, changed := n.tip.get()
		if h <= tip {
			return n.loadBlock(h)
		}
		select {
		case <-changed:
		case <-n.done:
			return nil, fmt.Errorf("block %d: %w", h, n.stoppedErr())
		case <-ctx.Done():
			return nil, fmt.Errorf("block %d: %w", h, ctx.Err())
		}
	}
}

func (n *Node) loadBlock(h int64) (*CommittedBlock, error) {
	n.storeMu.RLock()
	defer n.storeMu.RUnlock()
	if n.closed {
		return nil, fmt.Errorf("block %d: %w", h, n.stoppedErr())
	}
	bs := n.cmt.BlockStore()
	if base := bs.Base(); h < base {
		return nil, &PrunedError{Height: h, Earliest: base}
	}
	block, meta := bs.LoadBlock(h)
	if block == nil || meta == nil {
		// Pruned since Base was read, or below the chain's initial height.
		return nil, &PrunedError{Height: h, Earliest: bs.Base()}
	}
	res, err := n.env.StateStore.LoadFinalizeBlockResponse(h)
	if err != nil {
		if errors.As(err, new(sm.ErrNoABCIResponsesForHeight)) {
			return nil, &PrunedError{Height: h, Earliest: bs.Base()}
		}
		return nil, fmt.Errorf("block %d: load results: %w", h, err)
	}
	cb, err := committedBlock(block, meta.BlockID, res.TxResults, res.Events, res.AppHash)
	if err != nil {
		return nil, fmt.Errorf("block %d: %w", h, err)
	}
	return cb, nil
}

// Status implements BlockSource with the same computations as CometBFT's RPC.
func (n *Node) Status(ctx context.Context) (Status, error) {
	n.storeMu.RLock()
	defer n.storeMu.RUnlock()
	if n.closed {
		return Status{}, fmt.Errorf("status: %w", n.stoppedErr())
	}
	if err := ctx.Err(); err != nil {
		return Status{}, fmt.Errorf("status: %w", err)
	}
	// The RPC handlers ignore their request context, so nil is safe here.
	st, err := n.env.Status(nil)
	if err != nil {
		return Status{}, fmt.Errorf("status: %w", err)
	}
	net, err := n.env.NetInfo(nil)
	if err != nil {
		return Status{}, fmt.Errorf("status: net info: %w", err)
	}
	vals, err := allValidators(st.SyncInfo.LatestBlockHeight, func(page, perPage int) (*ctypes.ResultValidators, error) {
		return n.env.Validators(nil, nil, &page, &perPage)
	})
	if err != nil {
		return Status{}, fmt.Errorf("status: %w", err)
	}
	return statusFrom(st, net, vals), nil
}
