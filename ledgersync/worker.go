// Package ledgersync replicates the validated ledger into PostgreSQL exactly once: it follows
// a node's committed blocks and execution results from the stored cursor and writes each
// block's rows and the cursor in one transaction. Far behind, it writes large batches with
// COPY; live, a transaction per block. A block whose hash differs from the stored one at its
// height halts it with an alarm: it never overwrites.
package ledgersync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/ledgerscope/ledgerscope/node"
	"github.com/ledgerscope/ledgerscope/store"
)

// Defaults of Config.
const (
	DefaultMaxBatchBlocks = 1000
	// DefaultMaxBatchRows is measured: a catch-up of 300k mixed txs among 10k accounts ran
	// 20% faster in batches of 400k rows than of 100k, mostly because each holding is upserted
	// once per batch; the batch then holds about 100 MB of rows.
	DefaultMaxBatchRows = 400_000
	DefaultPrefetch     = 2048
	// DefaultPrefetchRows lets the reader convert one batch ahead while the writer writes one.
	DefaultPrefetchRows   = 2 * DefaultMaxBatchRows
	DefaultLogEvery       = 1000
	DefaultLogInterval    = 10 * time.Second
	DefaultStatusInterval = time.Second
	DefaultRetryMin       = 200 * time.Millisecond
	DefaultRetryMax       = 10 * time.Second
	// DefaultDeferIndexesBlocks is how far behind the node an empty database must start for
	// the initial load to set its secondary indexes aside. Measured: 1M txs loaded into
	// indexed tables took about three times as long as loading them bare and building the
	// indexes afterwards. A short chain gains nothing and loses nothing.
	DefaultDeferIndexesBlocks = 20
	// DeferMaxTxs is how much an initial load may have written with its indexes in place and
	// still set them aside: rebuilding them over that many transactions takes seconds.
	DeferMaxTxs = 1_000_000
)

// ErrHalted is returned by Run when the sync stopped on an alarm (a divergent block, another
// chain) that a person must clear.
var ErrHalted = errors.New("sync halted")

// Config configures a Worker.
type Config struct {
	// Source yields committed blocks: the embedded node, or a remote one over RPC.
	Source node.BlockSource
	// DB is the migrated database.
	DB *store.DB
	// Genesis is the chain's genesis state, written before the first block.
	Genesis store.Genesis
	// MaxBatchBlocks and MaxBatchRows bound one catch-up transaction.
	MaxBatchBlocks, MaxBatchRows int
	// Prefetch bounds the blocks read ahead of the writer, and PrefetchRows their rows
	// (transactions, legs and balance changes): a catch-up over large blocks would otherwise
	// hold thousands of converted blocks in memory.
	Prefetch     int
	PrefetchRows int64
	// CopyMinRows is where writes switch from INSERT to COPY; 0 is store's default.
	CopyMinRows int
	// LogEvery logs progress every this many blocks, and at least every LogInterval while
	// blocks arrive.
	LogEvery    int64
	LogInterval time.Duration
	// StatusInterval is how often the node's height is read, for the lag.
	StatusInterval time.Duration
	// RetryMin and RetryMax bound the back-off after an error (the database or the node away).
	RetryMin, RetryMax time.Duration
	// DeferIndexesBlocks: a sync that starts on an empty database (the cursor at genesis) and
	// finds itself at least this many blocks behind the node before it has written
	// DeferMaxTxs drops the secondary indexes of the big tables, loads the history bare, and
	// rebuilds them once caught up (store.DeferIndexes). 0 means DefaultDeferIndexesBlocks;
	// negative never defers.
	DeferIndexesBlocks int64
	// Logger receives progress, retries and alarms; nil discards.
	Logger *slog.Logger
}

func (c *Config) defaults() {
	if c.MaxBatchBlocks <= 0 {
		c.MaxBatchBlocks = DefaultMaxBatchBlocks
	}
	if c.MaxBatchRows <= 0 {
		c.MaxBatchRows = DefaultMaxBatchRows
	}
	if c.Prefetch <= 0 {
		c.Prefetch = DefaultPrefetch
	}
	if c.PrefetchRows <= 0 {
		c.PrefetchRows = DefaultPrefetchRows
	}
	if c.LogEvery <= 0 {
		c.LogEvery = DefaultLogEvery
	}
	if c.LogInterval <= 0 {
		c.LogInterval = DefaultLogInterval
	}
	if c.StatusInterval <= 0 {
		c.StatusInterval = DefaultStatusInterval
	}
	if c.RetryMin <= 0 {
		c.RetryMin = DefaultRetryMin
	}
	if c.RetryMax <= 0 {
		c.RetryMax = DefaultRetryMax
	}
	if c.DeferIndexesBlocks == 0 {
		c.DeferIndexesBlocks = DefaultDeferIndexesBlocks
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Worker follows the chain into the database. Run it once; read Metrics from any goroutine.
type Worker struct {
	cfg Config
	log *slog.Logger

	// fresh is set while the session, started on an empty database, may still defer its
	// indexes (maybeDefer); only the writer goroutine reads and writes it.
	fresh bool
	// held is the latest change of each holding since this session deferred the indexes,
	// for RestoreIndexes to write the balances from; nil otherwise. Writer goroutine only.
	held map[holding]store.BalanceChange
	// heldDone, when not nil, is closed once the last batch written is in held: hold runs
	// beside the next batch's write rather than before it (waitHeld).
	heldDone chan struct{}

	mu sync.Mutex
	m  Metrics
	// rows/s window
	winStart time.Time
	winRows  int64
}

// New returns a worker; it touches nothing until Run.
func New(cfg Config) (*Worker, error) {
	if cfg.Source == nil || cfg.DB == nil {
		return nil, errors.New("ledgersync: source and database are required")
	}
	if cfg.Genesis.ChainID == "" {
		return nil, errors.New("ledgersync: genesis chain id is required")
	}
	cfg.defaults()
	return &Worker{cfg: cfg, log: cfg.Logger}, nil
}

// Run syncs until ctx ends (returning nil) or an alarm halts it (returning an error that
// wraps ErrHalted). Errors of the database or the node are logged and retried with back-off:
// each retry starts again from the stored cursor.
func (w *Worker) Run(ctx context.Context) error {
	backoff := w.cfg.RetryMin
	for {
		progressed, err := w.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			continue
		}
		if errors.Is(err, store.ErrDivergence) || errors.Is(err, store.ErrConflict) || errors.Is(err, ErrHalted) {
			return w.halt(ctx, err)
		}
		w.setError(err)
		if progressed {
			backoff = w.cfg.RetryMin
		}
		w.log.Warn("sync error; retrying", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, w.cfg.RetryMax)
	}
}

// halt raises the alarm: an error log, the metric, and the reason on the cursor row, where the
// status page and the next start find it.
func (w *Worker) halt(ctx context.Context, err error) error {
	reason := err.Error()
	w.setHalted(reason)
	w.log.Error("SYNC HALTED: the chain and the database disagree; nothing was overwritten", "err", err)
	if !errors.Is(err, ErrHalted) {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if herr := w.cfg.DB.Halt(hctx, reason); herr != nil {
			w.log.Error("could not record the halt", "err", herr)
		}
	}
	if errors.Is(err, ErrHalted) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrHalted, err)
}

// fetched is one converted block, or the error that stopped the reader.
type fetched struct {
	rows *store.BlockRows
	err  error
	// weight is what the block holds of the read-ahead allowance, returned once written.
	weight int64
	// encode asks for the block's rows to be encoded for COPY before the writer gets it.
	encode bool
}

// rowsOf is the size of a converted block for the batch and read-ahead bounds.
func rowsOf(b *store.BlockRows) int64 { return int64(len(b.Txs) + len(b.Changes) + len(b.Legs)) }

// session runs from the stored cursor until an error. It reports whether it wrote anything.
func (w *Worker) session(ctx context.Context) (bool, error) {
	cur, err := w.resume(ctx)
	if err != nil {
		return false, err
	}
	db := w.cfg.DB
	sponsors, err := db.AccountSponsors(ctx)
	if err != nil {
		return false, err
	}
	enc, err := db.NewEncoder(ctx)
	if err != nil {
		return false, err
	}
	w.mu.Lock()
	w.m.SyncedHeight, w.m.SyncedTime = cur.Height, cur.BlockTime
	w.mu.Unlock()
	return w.pipeline(ctx, cur.Height+1, &converter{sponsors: sponsors}, enc)
}

// resume reads the stored cursor and makes the database agree with it: rows a failed write
// left past it removed, its block checked against the node's, and, for an initial load,
// the indexes deferred.
func (w *Worker) resume(ctx context.Context) (*store.Cursor, error) {
	db := w.cfg.DB
	cur, err := db.InitGenesis(ctx, w.cfg.Genesis)
	if err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	if cur.HaltedAt != nil {
		return nil, fmt.Errorf("%w since %s: %s (clear it with ClearHalt once resolved)", ErrHalted, cur.HaltedAt.Format(time.RFC3339), cur.HaltReason)
	}
	trimmed, err := db.TrimPastCursor(ctx)
	if err != nil {
		return nil, err
	}
	if trimmed > 0 {
		w.log.Warn("removed rows past the sync cursor", "rows", trimmed, "cursor", cur.Height)
	}
	if cur.Height > 0 {
		if err := w.checkCursorBlock(ctx, cur); err != nil {
			return nil, err
		}
	}
	deferred, err := db.DeferredIndexes(ctx)
	if err != nil {
		return nil, err
	}
	w.setDeferred(deferred)
	// A session that starts on an empty database is an initial load until it has written
	// DeferMaxTxs: the node it follows may itself be block-syncing, so how far behind the
	// sync is shows only as the node's height grows.
	w.fresh = cur.Height == 0 && w.cfg.DeferIndexesBlocks > 0
	if w.fresh {
		st, err := w.cfg.Source.Status(ctx)
		if err != nil {
			return nil, fmt.Errorf("node status: %w", err)
		}
		w.setNode(st.LatestHeight, st.LatestTime)
		if err := w.maybeDefer(ctx, cur.Height); err != nil {
			return nil, err
		}
	}
	return cur, nil
}

// pipeline reads and converts blocks from height from on, encodes them, and writes them,
// each stage in a goroutine of its own, while the node's status is polled, until the
// writer stops. It reports whether anything was written.
func (w *Worker) pipeline(ctx context.Context, from int64, conv *converter, enc *store.Encoder) (bool, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	read := make(chan fetched, w.cfg.Prefetch)
	ch := make(chan fetched, w.cfg.Prefetch)
	ahead := semaphore.NewWeighted(w.cfg.PrefetchRows)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		w.read(sctx, from, conv, ahead, read)
	}()
	go func() {
		defer wg.Done()
		encode(sctx, enc, read, ch)
	}()
	go func() {
		defer wg.Done()
		w.pollStatus(sctx)
	}()
	defer wg.Wait()
	defer cancel()
	return w.write(sctx, ahead, ch)
}

// maybeDefer sets the secondary indexes aside for an initial load: a session that started
// on an empty database, has written fewer than DeferMaxTxs, and is at least
// DeferIndexesBlocks behind the node.
func (w *Worker) maybeDefer(ctx context.Context, cursor int64) error {
	m := w.Metrics()
	if !w.fresh || m.DeferredIndexes > 0 {
		return nil
	}
	if m.Txs > DeferMaxTxs {
		w.fresh = false
		return nil
	}
	if m.NodeHeight-cursor < w.cfg.DeferIndexesBlocks {
		return nil
	}
	n, err := w.cfg.DB.DeferIndexes(ctx)
	if err != nil {
		return err
	}
	w.fresh = false
	w.setDeferred(n)
	w.held = map[holding]store.BalanceChange{}
	w.log.Info("initial load: secondary indexes set aside until caught up", "indexes", n, "synced_height", cursor, "node_height", m.NodeHeight)
	return nil
}

// restoreIndexes rebuilds the deferred indexes once the load has caught up with the node.
// Blocks that arrive meanwhile wait in the read-ahead and are written right after.
func (w *Worker) restoreIndexes(ctx context.Context, cursor int64) error {
	if w.Metrics().DeferredIndexes == 0 || cursor < w.nodeHeight() {
		return nil
	}
	start := time.Now()
	w.log.Info("initial load caught up; rebuilding the secondary indexes", "synced_height", cursor)
	w.waitHeld()
	var held []store.BalanceChange
	if w.held != nil {
		held = slices.Collect(maps.Values(w.held))
	}
	n, err := w.cfg.DB.RestoreIndexes(ctx, w.log, held)
	if err != nil {
		return err
	}
	w.held = nil
	w.setDeferred(0)
	w.log.Info("indexes rebuilt", "indexes", n, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// hold keeps, in the background, the latest change of each holding the blocks changed:
// done on the writer goroutine, its map work (0.9 s of a 1M-transaction load) left the
// database idle between batches. Call waitHeld before reading held or holding again.
func (w *Worker) hold(blocks []*store.BlockRows) {
	w.waitHeld()
	done := make(chan struct{})
	w.heldDone = done
	go func() {
		defer close(done)
		for _, b := range blocks {
			for i := range b.Changes {
				c := &b.Changes[i]
				k := holdingOf(c)
				prev, ok := w.held[k]
				if ok && prev.Height > c.Height {
					continue
				}
				// The account bytes are copied once per holding: the change's own share
				// its block's arena, which held would otherwise keep alive to the end of
				// the load.
				v := *c
				if ok {
					v.Account = prev.Account
				} else {
					v.Account = bytes.Clone(c.Account)
				}
				w.held[k] = v
			}
		}
	}()
}

// waitHeld waits for the batch hold is keeping, if any.
func (w *Worker) waitHeld() {
	if w.heldDone != nil {
		<-w.heldDone
		w.heldDone = nil
	}
}

// checkCursorBlock compares the last stored block with the node's block at that height.
func (w *Worker) checkCursorBlock(ctx context.Context, cur *store.Cursor) error {
	b, err := w.cfg.Source.Block(ctx, cur.Height)
	if errors.Is(err, node.ErrPruned) {
		w.log.Warn("node no longer has the cursor's block; its hash is not checked", "height", cur.Height)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read block %d from node: %w", cur.Height, err)
	}
	if string(b.Hash) != string(cur.Hash) {
		return &store.DivergenceError{Height: cur.Height, Stored: cur.Hash, Node: b.Hash}
	}
	return nil
}

// read fetches and converts blocks in order from h on, until ctx ends or an error. Each block
// takes its rows from the ahead allowance (a block larger than all of it takes all of it), so
// the reader waits while the writer has that many rows still to write. A block that will
// likely be written with COPY (behind the node, or large) is marked for encoding.
func (w *Worker) read(ctx context.Context, h int64, conv *converter, ahead *semaphore.Weighted, ch chan<- fetched) {
	copyMin := int64(w.cfg.CopyMinRows)
	if copyMin <= 0 {
		copyMin = store.DefaultCopyMinRows
	}
	for ; ; h++ {
		b, err := w.cfg.Source.Block(ctx, h)
		var rows *store.BlockRows
		if err == nil {
			rows, err = conv.convert(b)
		}
		if err != nil && ctx.Err() == nil {
			err = fmt.Errorf("block %d: %w", h, err)
		}
		var weight int64
		if err == nil {
			weight = min(rowsOf(rows), w.cfg.PrefetchRows)
			if ahead.Acquire(ctx, weight) != nil {
				return
			}
		}
		select {
		case ch <- fetched{rows, err, weight, err == nil && (h < w.nodeHeight() || rowsOf(rows) >= copyMin)}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
		if b.Height > w.nodeHeight() {
			w.setNode(b.Height, b.Time)
		}
	}
}

// encode passes the blocks from in to out, encoding for COPY those marked for it: a stage of
// its own, so that converting, encoding and writing proceed side by side.
func encode(ctx context.Context, enc *store.Encoder, in <-chan fetched, out chan<- fetched) {
	for {
		var f fetched
		select {
		case f = <-in:
		case <-ctx.Done():
			return
		}
		if f.encode {
			if err := enc.Encode(f.rows); err != nil {
				f.err = fmt.Errorf("block %d: %w", f.rows.Block.Height, err)
			}
		}
		select {
		case out <- f:
		case <-ctx.Done():
			return
		}
		if f.err != nil {
			return
		}
	}
}

// pollStatus keeps the node's height and time fresh, for the lag.
func (w *Worker) pollStatus(ctx context.Context) {
	t := time.NewTicker(w.cfg.StatusInterval)
	defer t.Stop()
	for {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := w.cfg.Source.Status(sctx)
		cancel()
		if err == nil && st.LatestHeight >= w.nodeHeight() {
			w.setNode(st.LatestHeight, st.LatestTime)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// write takes blocks off ch and commits them: whatever has arrived, up to the batch bounds,
// in one transaction. Live, that is one block; catching up, a large batch written with COPY.
func (w *Worker) write(ctx context.Context, ahead *semaphore.Weighted, ch <-chan fetched) (bool, error) {
	defer w.waitHeld()
	progressed := false
	lastLog := time.Now()
	var sinceLog int64
	for {
		var first fetched
		select {
		case <-ctx.Done():
			return progressed, nil
		case first = <-ch:
		}
		if first.err != nil {
			return progressed, first.err
		}
		batch := []*store.BlockRows{first.rows}
		rows := rowsOf(first.rows)
		weight := first.weight
		var pending error
	drain:
		for len(batch) < w.cfg.MaxBatchBlocks && rows < int64(w.cfg.MaxBatchRows) {
			select {
			case f := <-ch:
				if f.err != nil {
					pending = f.err
					break drain
				}
				batch = append(batch, f.rows)
				rows += rowsOf(f.rows)
				weight += f.weight
			default:
				break drain
			}
		}
		if err := w.maybeDefer(ctx, first.rows.Block.Height-1); err != nil {
			return progressed, err
		}
		start := time.Now()
		res, err := w.cfg.DB.WriteBlocks(ctx, batch, store.WriteOptions{CopyMinRows: w.cfg.CopyMinRows})
		if err != nil {
			return progressed, err
		}
		ahead.Release(weight)
		progressed = progressed || res.Written > 0
		if w.held != nil {
			w.hold(batch)
		}
		last := batch[len(batch)-1]
		var txs int64
		for _, b := range batch {
			txs += int64(len(b.Txs))
		}
		// An initial load counts as synced once its indexes are back: whoever waits for the
		// synced height (the rules, a test, an operator) then finds a database it can query.
		if err := w.restoreIndexes(ctx, res.Cursor); err != nil {
			return progressed, err
		}
		w.recordWrite(res, last.Block.Time, txs, time.Since(start))
		sinceLog += int64(res.Written)
		if sinceLog >= w.cfg.LogEvery || (res.Written > 0 && time.Since(lastLog) >= w.cfg.LogInterval) {
			w.logProgress()
			sinceLog, lastLog = 0, time.Now()
		}
		if pending != nil {
			return progressed, pending
		}
	}
}
