package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"

	abci "github.com/cometbft/cometbft/abci/types"
)

var _ abci.Application = (*App)(nil)

// Version is the application's protocol version, reported to CometBFT.
const Version = 1

// DefaultHistoryBlocks keeps about a day of past states at one block a second: enough for a
// replica that lags to be reconciled at its own height.
const DefaultHistoryBlocks = 100_000

// DefaultSigCacheSize bounds the transactions an app remembers as verified: between this many
// and twice as many, about 64 bytes each, or 16 MiB at most. It covers the mempool's 100,000
// transactions waiting for a block, which is what the cache saves re-verifying.
const DefaultSigCacheSize = 1 << 17

// pruneEvery spaces the undo log's pruning, a range deletion, over many blocks.
var pruneEvery int64 = 1000

// Config configures an App.
type Config struct {
	// Dir holds the app's own store, usually <home>/data/ledger.
	Dir string
	// Logger receives the app's structured logs; nil discards them.
	Logger *slog.Logger
	// VerifyWorkers is how many goroutines verify a block's signatures; 0 means GOMAXPROCS.
	VerifyWorkers int
	// SigCache remembers verified transactions; apps in one process (a devnet) may share
	// one so that a tx gossiped to every node is verified once. Nil gives the app its own.
	SigCache *SigCache
	// HistoryBlocks is how many past heights queries can answer at (the undo log kept);
	// 0 means DefaultHistoryBlocks, a negative value keeps none.
	HistoryBlocks int64
	// CheckInvariants runs the state invariants after every block and fails Commit if one
	// breaks. Tests turn it on; it costs a scan of the state per block.
	CheckInvariants bool
	// RetainHeight, when set, is asked after each commit for the lowest height whose block
	// the node must keep (0: no change); the app passes it to CometBFT, which prunes the
	// blocks below it. The app keeps its own state and never reads old blocks, so whoever
	// does (a sync behind the node) decides.
	RetainHeight func(height int64) int64
}

// App is the ledger's ABCI application.
type App struct {
	abci.BaseApplication
	cfg       Config
	log       *slog.Logger
	store     *diskStore
	closeOnce sync.Once

	// mu guards state against CheckTx and Query while Commit swaps a block in. FinalizeBlock
	// reads state without it: only Commit writes, and CometBFT never runs the two at once.
	mu    sync.RWMutex
	state *State

	pending *pendingBlock
	// undoFloor is the lowest height whose undo entries are kept: queries can answer at any
	// height from undoFloor-1 to the current one.
	undoFloor int64

	// executing is the height FinalizeBlock last started: Preverify leaves blocks up to it
	// alone, since their execution is verifying them already.
	executing atomic.Int64

	checkMu     sync.Mutex
	checkNonces map[Address]uint64 // highest nonce admitted to the mempool, per account ahead of its committed one
	sigs        *SigCache
	prepared    *preparedBlocks // by Preverify, for FinalizeBlock
}

// pendingBlock is a finalized block waiting for Commit.
type pendingBlock struct {
	stage   *stage
	records []record
	digest  Digest
}

// NewApp opens (or creates) the app's store and loads the committed state, verifying it
// against its digest.
func NewApp(cfg Config) (*App, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HistoryBlocks == 0 {
		cfg.HistoryBlocks = DefaultHistoryBlocks
	}
	if cfg.VerifyWorkers <= 0 {
		cfg.VerifyWorkers = runtime.GOMAXPROCS(0)
	}
	store, err := openStore(cfg.Dir)
	if err != nil {
		return nil, err
	}
	st, floor, err := store.load()
	if err != nil {
		store.close()
		return nil, err
	}
	if st == nil {
		st = NewState()
		st.closed = store
	}
	if cfg.SigCache == nil {
		cfg.SigCache = NewSigCache(DefaultSigCacheSize)
	}
	return &App{
		cfg: cfg, log: cfg.Logger, store: store, state: st,
		checkNonces: map[Address]uint64{}, sigs: cfg.SigCache, undoFloor: floor,
		prepared: newPreparedBlocks(),
	}, nil
}

// Close closes the app's store; closing twice is harmless.
func (a *App) Close() error {
	var err error
	a.closeOnce.Do(func() { err = a.store.close() })
	return err
}

// View runs fn on the committed state under the read lock; fn must not keep or change it.
func (a *App) View(fn func(*State)) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	fn(a.state)
}

// AppHash is the app hash of the committed state.
func (a *App) AppHash() []byte {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.state.AppHash()
}

// Height is the last committed height.
func (a *App) Height() int64 {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.state.Height
}

// Info tells CometBFT where the app is, so the handshake replays what it missed.
func (a *App) Info(_ context.Context, _ *abci.InfoRequest) (*abci.InfoResponse, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	resp := &abci.InfoResponse{Data: "ledgerscope", Version: fmt.Sprint(Version), AppVersion: Version}
	if a.state.Params.ChainID != "" {
		resp.LastBlockHeight = a.state.Height
		resp.LastBlockAppHash = a.state.AppHash()
	}
	return resp, nil
}

// InitChain builds the genesis state and writes it in full.
func (a *App) InitChain(_ context.Context, req *abci.InitChainRequest) (*abci.InitChainResponse, error) {
	g, err := ParseGenesis(req.AppStateBytes)
	if err != nil {
		return nil, err
	}
	st, err := g.build(req.ChainId)
	if err != nil {
		return nil, err
	}
	st.Height = req.InitialHeight - 1
	recs := st.records()
	for _, r := range recs {
		st.Digest.Add(r.key, r.new)
	}
	floor := st.Height + 1
	if err := a.store.commit(commitPoint{st.Height, st.Digest, floor}, recs, false, 0); err != nil {
		return nil, fmt.Errorf("write genesis state: %w", err)
	}
	st.closed = a.store
	a.mu.Lock()
	a.state = st
	a.undoFloor = floor
	a.mu.Unlock()
	a.log.Info("genesis state written", "chain_id", req.ChainId, "members", len(st.Members), "app_hash", fmt.Sprintf("%X", st.AppHash()))
	return &abci.InitChainResponse{AppHash: st.AppHash()}, nil
}

// CheckTx admits a transaction to the mempool if it decodes, is signed for this chain by an
// account, and carries a nonce the account has not used and that follows the nonces already
// admitted. Frozen accounts are admitted on purpose: their attempts must reach a block, where
// they fail on the record.
//
// The admitted nonces survive commits: CheckTx does not depend on CometBFT rechecking the
// mempool after each block, which on a busy node may time out half-way and would otherwise
// leave the bookkeeping wrong. A nonce between the committed one and the highest admitted is
// accepted again, so a client can resubmit a transaction that was lost from a mempool.
func (a *App) CheckTx(_ context.Context, req *abci.CheckTxRequest) (*abci.CheckTxResponse, error) {
	reply := func(e *TxError) (*abci.CheckTxResponse, error) {
		return &abci.CheckTxResponse{Code: uint32(e.Code), Log: e.Msg, Codespace: Codespace}, nil
	}
	dtx, err := DecodeTx(req.Tx)
	if err != nil {
		return reply(reject(CodeMalformed, "%v", err))
	}
	a.mu.RLock()
	chainID := a.state.Params.ChainID
	signer := a.state.Accounts[dtx.Signer()]
	var committed uint64
	if signer != nil {
		committed = signer.Nonce
	}
	a.mu.RUnlock()
	if req.Type == abci.CHECK_TX_TYPE_RECHECK {
		// Admitted before, so well-formed and signed; only a block can have spent its nonce.
		if signer == nil || dtx.Nonce <= committed {
			return reply(reject(CodeBadNonce, "nonce %d already used", dtx.Nonce))
		}
		return &abci.CheckTxResponse{Code: uint32(CodeOK)}, nil
	}
	if dtx.ChainID != chainID {
		return reply(reject(CodeWrongChain, "signed for chain %q, this is %q", dtx.ChainID, chainID))
	}
	if err := dtx.Body.validate(); err != nil {
		var te *TxError
		if errors.As(err, &te) {
			return reply(te)
		}
		return reply(reject(CodeInvalidField, "%v", err))
	}
	hash := TxHash(req.Tx)
	if !a.sigs.has(hash) {
		if err := VerifySignatures(dtx); err != nil {
			return reply(reject(CodeBadSignature, "%v", err))
		}
		a.sigs.add(hash)
	}
	if signer == nil {
		return reply(reject(CodeUnknownSigner, "no account %s", dtx.Signer()))
	}
	a.checkMu.Lock()
	defer a.checkMu.Unlock()
	admitted := max(a.checkNonces[signer.Address], committed)
	if dtx.Nonce <= committed || dtx.Nonce > admitted+1 {
		return reply(reject(CodeBadNonce, "nonce %d, account %s expects %d", dtx.Nonce, signer.Address, admitted+1))
	}
	if dtx.Nonce > admitted {
		a.checkNonces[signer.Address] = dtx.Nonce
	}
	return &abci.CheckTxResponse{Code: uint32(CodeOK)}, nil
}

// FinalizeBlock executes a block on a stage and returns the results and the new app hash.
// Signatures are verified in parallel batches first; execution is then strictly sequential
// in block order, so the outcome is the same on every node.
func (a *App) FinalizeBlock(_ context.Context, req *abci.FinalizeBlockRequest) (*abci.FinalizeBlockResponse, error) {
	if want := a.state.Height + 1; req.Height != want {
		return nil, fmt.Errorf("finalize block %d: app is at height %d", req.Height, a.state.Height)
	}
	a.executing.Store(req.Height)
	pre, done := a.prepared.take(req.Height)
	st := newStage(a.state, req.Height, req.Time.Unix())
	blockEvents := st.expireSettlements()

	results := make([]*abci.ExecTxResult, len(req.Txs))
	a.pipeline(req.Txs, pre, done, func(i int, p *preparedTx) {
		if p.dtx == nil {
			results[i] = &abci.ExecTxResult{Code: uint32(CodeMalformed), Log: p.err.Error(), Codespace: Codespace}
			return
		}
		code, msg, evs := st.execute(p.dtx, p.hash, p.sigsOK)
		r := &abci.ExecTxResult{Code: uint32(code), Log: msg, Data: EncodeEvents(evs)}
		if code != CodeOK {
			r.Codespace = Codespace
		}
		results[i] = r
	})

	failed := 0
	for _, r := range results {
		if r.Code != uint32(CodeOK) {
			failed++
		}
	}
	st.count(len(results), failed)
	recs := st.changes()
	digest := a.state.Digest
	foldRecords(&digest, recs, a.cfg.VerifyWorkers)
	a.pending = &pendingBlock{stage: st, records: recs, digest: digest}
	return &abci.FinalizeBlockResponse{
		TxResults: results,
		Events:    ToABCI(blockEvents),
		AppHash:   digest.AppHash(),
	}, nil
}

// preparedTx is a tx decoded, hashed and with its signatures checked, ready to execute.
type preparedTx struct {
	dtx    *DecodedTx
	err    error
	hash   Hash
	sigsOK bool
}

// Bounds of the chunk a verify worker prepares at a time. Batch verification pays for a
// fixed bucket pass per batch (Pippenger, window 8), so a signature in a batch of 512 cost
// about a third more than in one of 2048 on this machine; but execution waits for the first
// chunk, so a small block is still cut into one chunk per worker.
const (
	minPipelineChunk = 256
	maxPipelineChunk = MaxVerifyBatch
)

// MaxVerifyBatch is the most signatures the app verifies in one batch: the batch size at
// which the benchmark measures the machine's verify ceiling.
const MaxVerifyBatch = 2048

// pipelineChunk is the chunk size for a block of n txs on workers verifiers.
func pipelineChunk(n, workers int) int {
	per := (n + workers - 1) / max(workers, 1)
	return max(minPipelineChunk, min(maxPipelineChunk, per))
}

// pipeline prepares a block's txs on the verify workers, chunk by chunk in block order, and
// calls exec for each tx strictly in block order on the calling goroutine as soon as its chunk
// is ready. Execution thus overlaps verification, and the outcome is the sequential one. The
// first done txs of pre, where Preverify got to, are taken as they are where their bytes match.
func (a *App) pipeline(txs [][]byte, pre *preparedBlock, done int, exec func(i int, p *preparedTx)) {
	n := len(txs)
	prepared := make([]preparedTx, n)
	size := pipelineChunk(n, a.cfg.VerifyWorkers)
	chunks := (n + size - 1) / size
	ready := make([]chan struct{}, chunks)
	for c := range ready {
		ready[c] = make(chan struct{})
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(a.cfg.VerifyWorkers, chunks) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c := int(next.Add(1) - 1)
				if c >= chunks {
					return
				}
				lo, hi := c*size, min((c+1)*size, n)
				if pre == nil || lo >= done {
					a.prepare(txs[lo:hi], prepared[lo:hi])
				} else {
					a.prepareMissing(txs, prepared, pre.reuse(txs, prepared, lo, hi, done))
				}
				close(ready[c])
			}
		}()
	}
	for c := range chunks {
		<-ready[c]
		for i := c * size; i < min((c+1)*size, n); i++ {
			exec(i, &prepared[i])
		}
	}
	wg.Wait()
}

// Preverify decodes, hashes and verifies a block's transactions before the block executes, a
// batch at a time, and hands them to the FinalizeBlock of that height, which takes what it
// finds instead of preparing it again; package node calls it for blocks a peer sends during
// block sync. It changes no state and prepares exactly as FinalizeBlock would, so the outcome
// of the block is the same whether it ran or not; a transaction it did not reach is prepared
// when the block executes. It stops once the block's height starts executing, and waits while
// it holds too many blocks ahead of execution.
func (a *App) Preverify(height int64, txs [][]byte) {
	if height <= a.executing.Load() {
		return
	}
	b := a.prepared.reserve(height, txs, a.executing.Load)
	if b == nil {
		return
	}
	for lo := 0; lo < len(txs); lo += MaxVerifyBatch {
		if height <= a.executing.Load() {
			return
		}
		hi := min(lo+MaxVerifyBatch, len(txs))
		a.prepare(txs[lo:hi], b.out[lo:hi])
		if !a.prepared.advance(height, b, hi) {
			return
		}
	}
}

// prepareMissing prepares the txs at the given ascending indexes, a run of neighbours at a
// time so that they share a verify batch.
func (a *App) prepareMissing(txs [][]byte, out []preparedTx, idx []int) {
	for s := 0; s < len(idx); {
		e := s + 1
		for e < len(idx) && idx[e] == idx[e-1]+1 {
			e++
		}
		lo, hi := idx[s], idx[e-1]+1
		a.prepare(txs[lo:hi], out[lo:hi])
		s = e
	}
}

// prepare decodes, hashes and verifies a run of txs; signatures CheckTx already verified are
// not verified again.
func (a *App) prepare(txs [][]byte, out []preparedTx) {
	batch := make([]*DecodedTx, 0, len(txs))
	idx := make([]int, 0, len(txs))
	for i, raw := range txs {
		dtx, err := DecodeTx(raw)
		if err != nil {
			out[i].err = err
			continue
		}
		out[i].dtx = dtx
		out[i].hash = TxHash(raw)
		if a.sigs.has(out[i].hash) {
			out[i].sigsOK = true
			continue
		}
		batch = append(batch, dtx)
		idx = append(idx, i)
	}
	ok := make([]bool, len(batch))
	verifyBatch(batch, ok)
	for j, i := range idx {
		out[i].sigsOK = ok[j]
	}
}

// parallel splits [0,n) into at most workers contiguous chunks of at least minChunk and runs
// fn on each, waiting for all.
func parallel(n, workers, minChunk int, fn func(lo, hi int)) {
	if workers > n/minChunk {
		workers = n / minChunk
	}
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

// foldRecords applies a block's record changes to the digest. The sum commutes, so chunks are
// folded on several cores and merged with the same result as a sequential pass.
func foldRecords(d *Digest, recs []record, workers int) {
	parts := make([]Digest, max(workers, 1))
	var mu sync.Mutex
	next := 0
	parallel(len(recs), workers, 256, func(lo, hi int) {
		mu.Lock()
		p := &parts[next]
		next++
		mu.Unlock()
		for _, r := range recs[lo:hi] {
			if r.old != nil {
				p.Remove(r.key, r.old)
			}
			if r.new != nil {
				p.Add(r.key, r.new)
			}
		}
	})
	for i := range parts {
		d.Merge(&parts[i])
	}
}

// Commit writes the finalized block to disk and swaps it into the committed state.
func (a *App) Commit(_ context.Context, _ *abci.CommitRequest) (*abci.CommitResponse, error) {
	p := a.pending
	if p == nil {
		return nil, errors.New("commit without a finalized block")
	}
	height, keep := p.stage.height, a.cfg.HistoryBlocks
	floor, prune := a.undoFloor, int64(0)
	if keep > 0 && height%pruneEvery == 0 && height-keep > floor {
		floor, prune = height-keep, height-keep
	}
	if keep < 0 {
		floor = height + 1
	}
	if err := a.store.commit(commitPoint{height, p.digest, floor}, p.records, keep > 0, prune); err != nil {
		return nil, err
	}
	a.mu.Lock()
	p.stage.apply(a.state)
	a.state.Digest = p.digest
	a.undoFloor = floor
	a.mu.Unlock()
	a.pending = nil

	// Forget admitted nonces the block caught up with; the rest stay pending.
	a.checkMu.Lock()
	for addr, acc := range p.stage.accounts {
		if n, ok := a.checkNonces[addr]; ok && n <= acc.Nonce {
			delete(a.checkNonces, addr)
		}
	}
	a.checkMu.Unlock()

	if a.cfg.CheckInvariants {
		a.mu.RLock()
		err := CheckInvariants(a.state)
		a.mu.RUnlock()
		if err != nil {
			return nil, fmt.Errorf("after block %d: %w", p.stage.height, err)
		}
	}
	resp := &abci.CommitResponse{}
	if a.cfg.RetainHeight != nil {
		resp.RetainHeight = a.cfg.RetainHeight(height)
	}
	return resp, nil
}

// SigCache remembers transactions whose signatures CheckTx verified, so that FinalizeBlock does
// not pay for them twice. Keys are hashes of the whole tx bytes, so a hit stands for exactly
// the bytes that verified. Two generations bound its size without per-entry bookkeeping.
type SigCache struct {
	mu        sync.Mutex
	limit     int
	cur, prev map[Hash]struct{}
}

// NewSigCache returns a cache that holds between limit and 2*limit entries.
func NewSigCache(limit int) *SigCache {
	return &SigCache{limit: limit, cur: map[Hash]struct{}{}, prev: map[Hash]struct{}{}}
}

func (c *SigCache) has(h Hash) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cur[h]; ok {
		return true
	}
	_, ok := c.prev[h]
	return ok
}

func (c *SigCache) add(h Hash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cur) >= c.limit {
		c.prev, c.cur = c.cur, make(map[Hash]struct{}, c.limit)
	}
	c.cur[h] = struct{}{}
}
