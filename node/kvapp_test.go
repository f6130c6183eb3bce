package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	abcitypes "github.com/cometbft/cometbft/abci/types"
)

// kvApp is a tiny deterministic ABCI application for these tests: transactions are
// "key=value", the app hash is a hash of the height and the whole state, and the
// state is written to a file on Commit so that a restarted node resumes from it.
// A transaction without "=" passes CheckTx but fails in the block with code 1, like
// the ledger's failed transactions.
type kvApp struct {
	abcitypes.BaseApplication
	path string

	// skewFrom, when positive, makes FinalizeBlock return a wrong app hash from that
	// height on: a node whose execution diverges from the chain.
	skewFrom atomic.Int64

	mu        sync.Mutex
	committed kvState
	staged    *kvState
	hashes    map[int64][]byte // app hash returned for each height executed
	// preverified counts the transactions Preverify was offered, per height.
	preverified map[int64]int
}

var _ Preverifier = (*kvApp)(nil)

// Preverify records what block sync offered; the kv app has no signatures to check.
func (a *kvApp) Preverify(height int64, txs [][]byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.preverified == nil {
		a.preverified = map[int64]int{}
	}
	a.preverified[height] += len(txs)
}

// preverifiedTxs is how many transactions Preverify was offered in all.
func (a *kvApp) preverifiedTxs() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.preverified {
		n += c
	}
	return n
}

type kvState struct {
	Height int64             `json:"height"`
	Hash   []byte            `json:"hash"`
	Data   map[string]string `json:"data"`
}

var _ abcitypes.Application = (*kvApp)(nil)

// newKVApp loads the state file at path if there is one. It recomputes the app hash
// from the data, so a tampered file shows as a hash the chain never committed to.
func newKVApp(path string) (*kvApp, error) {
	app := &kvApp{path: path, committed: kvState{Data: map[string]string{}}, hashes: map[int64][]byte{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return app, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &app.committed); err != nil {
		return nil, fmt.Errorf("kvapp state %s: %w", path, err)
	}
	if app.committed.Data == nil {
		app.committed.Data = map[string]string{}
	}
	app.committed.Hash = kvHash(app.committed.Height, app.committed.Data)
	return app, nil
}

// kvHash commits to the height and every key and value, in sorted key order.
func kvHash(height int64, data map[string]string) []byte {
	h := sha256.New()
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(height))
	h.Write(buf[:])
	for _, k := range slices.Sorted(maps.Keys(data)) {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(data[k]))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

func (a *kvApp) Info(context.Context, *abcitypes.InfoRequest) (*abcitypes.InfoResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	res := &abcitypes.InfoResponse{LastBlockHeight: a.committed.Height}
	if a.committed.Height > 0 {
		res.LastBlockAppHash = a.committed.Hash
	}
	return res, nil
}

func (a *kvApp) InitChain(_ context.Context, req *abcitypes.InitChainRequest) (*abcitypes.InitChainResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	data := map[string]string{}
	if len(req.AppStateBytes) > 0 {
		if err := json.Unmarshal(req.AppStateBytes, &data); err != nil {
			return nil, fmt.Errorf("kvapp genesis: %w", err)
		}
	}
	a.committed = kvState{Height: 0, Data: data, Hash: kvHash(0, data)}
	return &abcitypes.InitChainResponse{AppHash: a.committed.Hash}, nil
}

func (*kvApp) CheckTx(_ context.Context, req *abcitypes.CheckTxRequest) (*abcitypes.CheckTxResponse, error) {
	if len(req.Tx) == 0 {
		return &abcitypes.CheckTxResponse{Code: 1, Log: "empty tx"}, nil
	}
	return &abcitypes.CheckTxResponse{Code: 0}, nil
}

func (a *kvApp) FinalizeBlock(_ context.Context, req *abcitypes.FinalizeBlockRequest) (*abcitypes.FinalizeBlockResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	data := maps.Clone(a.committed.Data)
	results := make([]*abcitypes.ExecTxResult, len(req.Txs))
	for i, tx := range req.Txs {
		k, v, ok := bytes.Cut(tx, []byte("="))
		if !ok || len(k) == 0 {
			results[i] = &abcitypes.ExecTxResult{Code: 1, Log: "not key=value"}
			continue
		}
		data[string(k)] = string(v)
		results[i] = &abcitypes.ExecTxResult{Events: []abcitypes.Event{{
			Type: "set",
			Attributes: []abcitypes.EventAttribute{
				{Key: "key", Value: string(k), Index: true},
				{Key: "value", Value: string(v)},
			},
		}}}
	}
	hash := kvHash(req.Height, data)
	if from := a.skewFrom.Load(); from > 0 && req.Height >= from {
		hash[0] ^= 0xff
	}
	a.staged = &kvState{Height: req.Height, Hash: hash, Data: data}
	a.hashes[req.Height] = hash
	return &abcitypes.FinalizeBlockResponse{
		TxResults: results,
		AppHash:   hash,
		Events: []abcitypes.Event{{
			Type:       "block",
			Attributes: []abcitypes.EventAttribute{{Key: "txs", Value: fmt.Sprint(len(req.Txs))}},
		}},
	}, nil
}

func (a *kvApp) Commit(context.Context, *abcitypes.CommitRequest) (*abcitypes.CommitResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.staged == nil {
		return nil, errors.New("kvapp: commit without a finalized block")
	}
	a.committed, a.staged = *a.staged, nil
	b, err := json.Marshal(a.committed)
	if err != nil {
		return nil, err
	}
	tmp := a.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, a.path); err != nil {
		return nil, err
	}
	return &abcitypes.CommitResponse{}, nil
}

// height returns the last committed height.
func (a *kvApp) height() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.committed.Height
}

// hashAt returns the app hash this app returned for height h.
func (a *kvApp) hashAt(h int64) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hashes[h]
}

// value returns the committed value of key.
func (a *kvApp) value(key string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.committed.Data[key]
}
