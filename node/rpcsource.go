package node

import (
	"context"
	"fmt"
	"sync"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
)

// RPCSourceConfig configures an RPCSource.
type RPCSourceConfig struct {
	// Remote is the node's RPC address, e.g. "http://127.0.0.1:26657".
	Remote string
	// PollInterval is how often a waiting Block asks the node for a new height; it is
	// raised to MinPollInterval if lower. Zero means DefaultPollInterval.
	PollInterval time.Duration
	// RequestTimeout bounds each RPC call. Zero means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// ResultsWait bounds how long Block retries a height the node reports as stored
	// but cannot serve yet: CometBFT stores a block a moment before its results. Zero
	// means DefaultResultsWait.
	ResultsWait time.Duration
}

// Defaults of RPCSourceConfig.
const (
	// DefaultPollInterval is a quarter of a fast block interval.
	DefaultPollInterval = 250 * time.Millisecond
	// MinPollInterval keeps a waiting reader from hammering the node.
	MinPollInterval = 50 * time.Millisecond
	// DefaultRequestTimeout bounds one RPC call; a 20 MiB block takes well under it.
	DefaultRequestTimeout = 30 * time.Second
	// DefaultResultsWait bounds retries of a stored height without results.
	DefaultResultsWait = 5 * time.Second
)

// RPCSource is a BlockSource that follows a remote node over CometBFT's RPC: the
// block, block_results, status, net_info and validators calls. The remote node must
// keep FinalizeBlock responses (storage.discard_abci_responses = false).
type RPCSource struct {
	cfg    RPCSourceConfig
	client *rpchttp.HTTP

	mu       sync.Mutex
	latest   int64 // highest height the node last reported
	earliest int64 // lowest height the node last reported
}

var _ BlockSource = (*RPCSource)(nil)

// NewRPCSource returns an RPCSource for cfg.Remote. It does not contact the node.
func NewRPCSource(cfg RPCSourceConfig) (*RPCSource, error) {
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	cfg.PollInterval = max(cfg.PollInterval, MinPollInterval)
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.ResultsWait <= 0 {
		cfg.ResultsWait = DefaultResultsWait
	}
	c, err := rpchttp.New(cfg.Remote)
	if err != nil {
		return nil, fmt.Errorf("rpc source %s: %w", cfg.Remote, err)
	}
	return &RPCSource{cfg: cfg, client: c}, nil
}

// Block implements BlockSource. It polls the node's status while h is above the
// node's latest height.
func (s *RPCSource) Block(ctx context.Context, h int64) (*CommittedBlock, error) {
	if h < 1 {
		return nil, fmt.Errorf("block %d: %w", h, ErrInvalidHeight)
	}
	var retryUntil time.Time
	for {
		latest, earliest := s.bounds()
		if h > latest || h < earliest {
			// Only ask for the status when the cached bounds say no: during catch-up
			// every call is then one block and one block_results request.
			var err error
			if latest, earliest, err = s.refresh(ctx); err != nil {
				return nil, fmt.Errorf("block %d: %w", h, err)
			}
		}
		if h < earliest {
			return nil, &PrunedError{Height: h, Earliest: earliest}
		}
		if h <= latest {
			b, err := s.fetch(ctx, h)
			if err == nil {
				return b, nil
			}
			if ctx.Err() != nil {
				return nil, fmt.Errorf("block %d: %w", h, ctx.Err())
			}
			// The node may have pruned h meanwhile, or stored the block but not yet
			// its results; anything else persisting past ResultsWait is returned.
			if _, earliest, rerr := s.refresh(ctx); rerr == nil && h < earliest {
				return nil, &PrunedError{Height: h, Earliest: earliest}
			}
			if retryUntil.IsZero() {
				retryUntil = time.Now().Add(s.cfg.ResultsWait)
			} else if time.Now().After(retryUntil) {
				return nil, fmt.Errorf("block %d: %w", h, err)
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("block %d: %w", h, ctx.Err())
		case <-time.After(s.cfg.PollInterval):
		}
	}
}

func (s *RPCSource) bounds() (latest, earliest int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latest, s.earliest
}

// refresh asks the node for its heights and caches them.
func (s *RPCSource) refresh(ctx context.Context) (latest, earliest int64, err error) {
	st, err := s.status(ctx)
	if err != nil {
		return 0, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latest, s.earliest = st.SyncInfo.LatestBlockHeight, st.SyncInfo.EarliestBlockHeight
	return s.latest, s.earliest, nil
}

func (s *RPCSource) status(ctx context.Context) (*ctypes.ResultStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	st, err := s.client.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("status from %s: %w", s.cfg.Remote, err)
	}
	return st, nil
}

func (s *RPCSource) fetch(ctx context.Context, h int64) (*CommittedBlock, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	b, err := s.client.Block(ctx, &h)
	if err != nil {
		return nil, fmt.Errorf("block from %s: %w", s.cfg.Remote, err)
	}
	if b.Block == nil {
		return nil, fmt.Errorf("block from %s: empty response", s.cfg.Remote)
	}
	r, err := s.client.BlockResults(ctx, &h)
	if err != nil {
		return nil, fmt.Errorf("block results from %s: %w", s.cfg.Remote, err)
	}
	if b.Block.Height != h || r.Height != h {
		return nil, fmt.Errorf("%s answered heights %d and %d for %d", s.cfg.Remote, b.Block.Height, r.Height, h)
	}
	return committedBlock(b.Block, b.BlockID, r.TxResults, r.FinalizeBlockEvents, r.AppHash)
}

// Status implements BlockSource.
func (s *RPCSource) Status(ctx context.Context) (Status, error) {
	st, err := s.status(ctx)
	if err != nil {
		return Status{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	net, err := s.client.NetInfo(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("net info from %s: %w", s.cfg.Remote, err)
	}
	vals, err := allValidators(st.SyncInfo.LatestBlockHeight, func(page, perPage int) (*ctypes.ResultValidators, error) {
		return s.client.Validators(ctx, nil, &page, &perPage)
	})
	if err != nil {
		return Status{}, fmt.Errorf("validators from %s: %w", s.cfg.Remote, err)
	}
	return statusFrom(st, net, vals), nil
}
