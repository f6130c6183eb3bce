package node

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	abcitypes "github.com/cometbft/cometbft/abci/types"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/mempool"
	"github.com/cometbft/cometbft/types"
)

// sigApp is a benchmark application shaped like the ledger's costs: every transaction
// carries an Ed25519 signature, verified in CheckTx and again in FinalizeBlock, and the
// app hash chains every transaction. It is safe for concurrent CheckTx calls.
type sigApp struct {
	abcitypes.BaseApplication
	// noVerify skips signature checks, leaving CometBFT's own costs: p2p, storage.
	noVerify bool
	mu       sync.Mutex
	height   int64
	hash     []byte
	staged   []byte
}

// sigTx is pubkey(32) | signature(64) | payload.
func sigTx(key ed25519.PrivateKey, payload []byte) []byte {
	tx := make([]byte, 0, 96+len(payload))
	tx = append(tx, key.Public().(ed25519.PublicKey)...)
	tx = append(tx, ed25519.Sign(key, payload)...)
	return append(tx, payload...)
}

func verifySigTx(tx []byte) bool {
	return len(tx) > 96 && ed25519.Verify(tx[:32], tx[96:], tx[32:96])
}

func (a *sigApp) CheckTx(_ context.Context, req *abcitypes.CheckTxRequest) (*abcitypes.CheckTxResponse, error) {
	// A recheck after a block only re-validates state; the signature cannot have changed.
	if a.noVerify || req.Type == abcitypes.CHECK_TX_TYPE_RECHECK || verifySigTx(req.Tx) {
		return &abcitypes.CheckTxResponse{}, nil
	}
	return &abcitypes.CheckTxResponse{Code: 1}, nil
}

func (a *sigApp) Info(context.Context, *abcitypes.InfoRequest) (*abcitypes.InfoResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return &abcitypes.InfoResponse{LastBlockHeight: a.height, LastBlockAppHash: a.hash}, nil
}

func (a *sigApp) FinalizeBlock(_ context.Context, req *abcitypes.FinalizeBlockRequest) (*abcitypes.FinalizeBlockResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	h := sha256.New()
	h.Write(a.hash)
	res := make([]*abcitypes.ExecTxResult, len(req.Txs))
	for i, tx := range req.Txs {
		res[i] = &abcitypes.ExecTxResult{}
		if !a.noVerify && !verifySigTx(tx) {
			res[i].Code = 1
			continue
		}
		h.Write(tx)
	}
	a.staged = h.Sum(nil)
	return &abcitypes.FinalizeBlockResponse{TxResults: res, AppHash: a.staged}, nil
}

func (a *sigApp) Commit(context.Context, *abcitypes.CommitRequest) (*abcitypes.CommitResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.height++
	a.hash = a.staged
	return &abcitypes.CommitResponse{}, nil
}

// benchTxs returns n signed 200-byte transactions.
func benchTxs(n int) [][]byte {
	keys := make([]ed25519.PrivateKey, 16)
	for i := range keys {
		_, keys[i], _ = ed25519.GenerateKey(nil)
	}
	signed := make([][]byte, n)
	for i := range signed {
		payload := make([]byte, 104)
		binary.BigEndian.PutUint64(payload, uint64(i))
		signed[i] = sigTx(keys[i%len(keys)], payload)
	}
	return signed
}

// BenchmarkCommitThroughput measures committed signed tx/s of one validator, for each
// database backend and ABCI concurrency mode, submitting from two goroutines:
//
//	go test ./node -run '^$' -bench CommitThroughput -benchtime 1x
func BenchmarkCommitThroughput(b *testing.B) {
	signed := benchTxs(60_000)
	for _, db := range []string{"goleveldb", "pebbledb"} {
		for _, mode := range []ABCIConcurrency{ABCISerial, ABCIPerConnection, ABCIConsensusOnly} {
			for _, verify := range []bool{true, false} {
				b.Run(fmt.Sprintf("%s/%s/verify=%t", db, mode, verify), func(b *testing.B) {
					for range b.N {
						c := newBenchChain(b, db, mode, &sigApp{noVerify: !verify})
						b.ReportMetric(c.load(b, signed), "tx/s")
					}
				})
			}
		}
	}
}

// BenchmarkBlockSync measures how fast a full node block-syncs a chain of signed
// transactions from one validator, re-executing them, for each database backend.
func BenchmarkBlockSync(b *testing.B) {
	signed := benchTxs(300_000)
	for _, db := range []string{"goleveldb", "pebbledb"} {
		for _, verify := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/verify=%t", db, verify), func(b *testing.B) {
				for range b.N {
					c := newBenchChain(b, db, ABCIConsensusOnly, &sigApp{noVerify: !verify})
					c.load(b, signed)
					st, err := c.node.Status(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					cfg := benchConfig(b, "full", db, ABCIConsensusOnly)
					cfg.PersistentPeers = []string{c.node.P2PAddress()}
					if err := InitHome(cfg, c.genesis, Keys{}); err != nil {
						b.Fatal(err)
					}
					start := time.Now()
					full, err := Start(context.Background(), cfg, &sigApp{noVerify: !verify})
					if err != nil {
						b.Fatal(err)
					}
					// Block sync stops one short of the peer's height: the last block
					// needs the next one's commit.
					block(b, full, st.LatestHeight-1, 5*time.Minute)
					b.ReportMetric(float64(len(signed))/time.Since(start).Seconds(), "sync-tx/s")
					// Read everything back, as ledgersync catching up does.
					start, read := time.Now(), 0
					for h := int64(1); h < st.LatestHeight; h++ {
						read += len(block(b, full, h, time.Minute).Txs)
					}
					b.ReportMetric(float64(read)/time.Since(start).Seconds(), "read-tx/s")
					_ = full.Stop()
				}
			})
		}
	}
}

func benchConfig(b *testing.B, moniker, db string, mode ABCIConcurrency) Config {
	cfg := DefaultConfig(filepath.Join(b.TempDir(), moniker), moniker)
	cfg.P2PListen = fmt.Sprintf("tcp://127.0.0.1:%d", freePort(b))
	cfg.DBBackend = db
	cfg.ABCIConcurrency = mode
	cfg.Logger = testLogger()
	return cfg
}

type benchChain struct {
	node    *Node
	genesis *types.GenesisDoc
}

func newBenchChain(b *testing.B, db string, mode ABCIConcurrency, app *sigApp) *benchChain {
	valKey := cmted25519.GenPrivKey()
	cfg := benchConfig(b, "val", db, mode)
	cfg.Validator = true
	gen, err := NewGenesis(GenesisSpec{
		ChainID:    "bench",
		Time:       time.Now().Add(-time.Second),
		Validators: []GenesisValidator{{Name: "v", PubKey: valKey.PubKey(), Power: 1}},
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := InitHome(cfg, gen, Keys{Validator: valKey}); err != nil {
		b.Fatal(err)
	}
	n, err := Start(context.Background(), cfg, app)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = n.Stop() })
	return &benchChain{node: n, genesis: gen}
}

// load submits signed from two goroutines and returns committed tx/s.
func (c *benchChain) load(b *testing.B, signed [][]byte) float64 {
	n := c.node
	first := block(b, n, 1, 30*time.Second)
	start := time.Now()
	var next, rejected atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(signed)) {
					return
				}
				for {
					res, err := n.SubmitTx(signed[i])
					if err == nil {
						if res.Code != 0 {
							rejected.Add(1)
						}
						break
					}
					var full mempool.ErrMempoolIsFull
					if !errors.As(err, &full) {
						errs <- fmt.Errorf("tx %d: %w", i, err)
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
		}()
	}
	committed := 0
	h := first.Height
	var last time.Time
	for committed < len(signed) {
		select {
		case err := <-errs:
			b.Fatal(err)
		default:
		}
		h++
		blk := block(b, n, h, 60*time.Second)
		committed += len(blk.Txs)
		if len(blk.Txs) > 0 {
			last = time.Now()
		} else if next.Load() >= int64(len(signed)) && time.Since(last) > 20*time.Second {
			b.Fatalf("stalled at %d of %d committed (%d rejected by CheckTx), height %d, mempool %d",
				committed, len(signed), rejected.Load(), h, n.cmt.Mempool().Size())
		}
	}
	wg.Wait()
	return float64(committed) / last.Sub(start).Seconds()
}
