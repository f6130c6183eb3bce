// Package memchain executes blocks through the ledger app in-process, as CometBFT would
// (FinalizeBlock then Commit), and serves them with their results as a node.BlockSource. Tests
// and benchmarks of ledgersync and reconciliation use it to build long chains quickly, without
// a consensus engine, and to control exactly when each block appears.
package memchain

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/node"
)

// Config describes a chain.
type Config struct {
	// Dir holds the app's store.
	Dir string
	// ChainID names the chain.
	ChainID string
	// Genesis is the ledger's genesis state.
	Genesis *ledger.GenesisState
	// GenesisTime is the chain's start; blocks must come after it.
	GenesisTime time.Time
	// VerifyWorkers bounds the goroutines verifying a block's signatures; 0 means all cores.
	VerifyWorkers int
	// HistoryBlocks is how many past heights the app answers queries at; 0 is the app's
	// default.
	HistoryBlocks int64
}

// Chain is a chain of executed blocks. Next appends; Block and Status read from any goroutine.
type Chain struct {
	cfg Config
	app *ledger.App

	mu      sync.Mutex
	blocks  map[int64]*node.CommittedBlock
	top     int64
	floor   int64 // blocks below it were dropped
	lastAt  time.Time
	topHash []byte
	grown   chan struct{}
}

var _ node.BlockSource = (*Chain)(nil)

// New creates the app in cfg.Dir and runs InitChain with the genesis state.
func New(cfg Config) (*Chain, error) {
	if cfg.ChainID == "" || cfg.Genesis == nil {
		return nil, errors.New("memchain: chain id and genesis are required")
	}
	app, err := ledger.NewApp(ledger.Config{Dir: cfg.Dir, VerifyWorkers: cfg.VerifyWorkers, HistoryBlocks: cfg.HistoryBlocks})
	if err != nil {
		return nil, fmt.Errorf("memchain: %w", err)
	}
	g, err := json.Marshal(cfg.Genesis)
	if err != nil {
		app.Close()
		return nil, fmt.Errorf("memchain: genesis: %w", err)
	}
	if _, err := app.InitChain(context.Background(), &abci.InitChainRequest{
		ChainId: cfg.ChainID, AppStateBytes: g, InitialHeight: 1, Time: cfg.GenesisTime,
	}); err != nil {
		app.Close()
		return nil, fmt.Errorf("memchain: init chain: %w", err)
	}
	return &Chain{cfg: cfg, app: app, blocks: map[int64]*node.CommittedBlock{}, floor: 1,
		lastAt: cfg.GenesisTime, grown: make(chan struct{})}, nil
}

// App is the chain's ledger app, for queries and views of its state.
func (c *Chain) App() *ledger.App { return c.app }

// Close closes the app.
func (c *Chain) Close() error { return c.app.Close() }

// Next executes and commits a block of txs at time at, which must be after the previous
// block's, and returns it. Next must not be called concurrently with itself.
func (c *Chain) Next(at time.Time, txs [][]byte) (*node.CommittedBlock, error) {
	c.mu.Lock()
	h, prev, last := c.top+1, c.topHash, c.lastAt
	c.mu.Unlock()
	if !at.After(last) {
		return nil, fmt.Errorf("memchain: block %d at %s is not after %s", h, at.UTC().Format(time.RFC3339Nano), last.UTC().Format(time.RFC3339Nano))
	}
	ctx := context.Background()
	resp, err := c.app.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: h, Time: at, Txs: txs})
	if err != nil {
		return nil, fmt.Errorf("memchain: finalize block %d: %w", h, err)
	}
	if _, err := c.app.Commit(ctx, &abci.CommitRequest{}); err != nil {
		return nil, fmt.Errorf("memchain: commit block %d: %w", h, err)
	}
	// A stand-in for the header hash: it chains to the previous block and commits to the
	// state and the txs, so two chains that differ anywhere have different hashes.
	hash := sha256.New()
	_ = binary.Write(hash, binary.BigEndian, h)
	hash.Write(prev)
	hash.Write(resp.AppHash)
	for _, tx := range txs {
		s := ledger.TxHash(tx)
		hash.Write(s[:])
	}
	b := &node.CommittedBlock{
		Height: h, Time: at, Hash: hash.Sum(nil), ChainID: c.cfg.ChainID, Proposer: make([]byte, 20),
		Txs: txs, TxResults: resp.TxResults, Events: resp.Events, AppHash: resp.AppHash,
	}
	c.mu.Lock()
	c.blocks[h] = b
	c.top, c.topHash, c.lastAt = h, b.Hash, at
	close(c.grown)
	c.grown = make(chan struct{})
	c.mu.Unlock()
	return b, nil
}

// Height is the latest block's height.
func (c *Chain) Height() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.top
}

// Drop forgets the blocks below height h, to bound memory on long chains; reading them then
// fails with node.ErrPruned, as on a pruned node.
func (c *Chain) Drop(h int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ; c.floor < min(h, c.top+1); c.floor++ {
		delete(c.blocks, c.floor)
	}
}

// Block implements node.BlockSource: it waits for height h to be committed.
func (c *Chain) Block(ctx context.Context, h int64) (*node.CommittedBlock, error) {
	if h < 1 {
		return nil, fmt.Errorf("block %d: %w", h, node.ErrInvalidHeight)
	}
	for {
		c.mu.Lock()
		if h < c.floor {
			c.mu.Unlock()
			return nil, &node.PrunedError{Height: h, Earliest: c.floor}
		}
		if h <= c.top {
			b := c.blocks[h]
			c.mu.Unlock()
			return b, nil
		}
		grown := c.grown
		c.mu.Unlock()
		select {
		case <-grown:
		case <-ctx.Done():
			return nil, fmt.Errorf("block %d: %w", h, ctx.Err())
		}
	}
}

// Status implements node.BlockSource.
func (c *Chain) Status(ctx context.Context) (node.Status, error) {
	if err := ctx.Err(); err != nil {
		return node.Status{}, fmt.Errorf("status: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := node.Status{ChainID: c.cfg.ChainID, Moniker: "memchain", LatestHeight: c.top, EarliestHeight: c.floor}
	if b := c.blocks[c.top]; b != nil {
		st.LatestTime, st.LatestBlockHash = b.Time, b.Hash
	}
	return st, nil
}
