package ledgersync

import (
	"log/slog"
	"time"

	"github.com/ledgerscope/ledgerscope/store"
)

// Metrics is the worker's state, for a status page, the progress log and, through
// NewCollector, Prometheus.
type Metrics struct {
	// SyncedHeight is the cursor; SyncedTime that block's time.
	SyncedHeight int64
	SyncedTime   time.Time
	// NodeHeight is the node's latest height; NodeTime that block's time.
	NodeHeight int64
	NodeTime   time.Time
	// LagHeights is NodeHeight - SyncedHeight (never negative).
	LagHeights int64
	// LagSeconds is how far the synced block's time trails the node's latest block time.
	LagSeconds float64
	// RowsPerSecond is the write rate over the last window of at least a second.
	RowsPerSecond float64
	// Blocks, Txs and Rows count what this worker wrote since it started.
	Blocks, Txs, Rows int64
	// Batches counts write transactions; CopyBatches those written with COPY.
	Batches, CopyBatches int64
	// LastBatchBlocks and LastWrite describe the latest write transaction.
	LastBatchBlocks int
	LastWrite       time.Duration
	// LastError is the latest error, retried or not, and when it happened; Errors counts them.
	LastError   string
	LastErrorAt time.Time
	Errors      int64
	// Halted is true once an alarm stopped the sync; HaltReason says why.
	Halted     bool
	HaltReason string
	// DeferredIndexes counts the entries an initial load set aside and has not yet rebuilt
	// (indexes, primary keys, the balances and the statistics: store.DeferIndexes); while it
	// is above zero the database answers slowly and the rules wait.
	DeferredIndexes int
}

// Metrics returns a snapshot of the worker's figures.
func (w *Worker) Metrics() Metrics {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.m
	m.LagHeights = max(m.NodeHeight-m.SyncedHeight, 0)
	m.LagSeconds = 0
	if m.LagHeights > 0 && !m.NodeTime.IsZero() && !m.SyncedTime.IsZero() {
		m.LagSeconds = max(m.NodeTime.Sub(m.SyncedTime).Seconds(), 0)
	}
	return m
}

func (w *Worker) nodeHeight() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.m.NodeHeight
}

func (w *Worker) setNode(h int64, t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if h >= w.m.NodeHeight {
		w.m.NodeHeight, w.m.NodeTime = h, t
	}
}

func (w *Worker) setDeferred(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.m.DeferredIndexes = n
}

func (w *Worker) setError(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.m.LastError, w.m.LastErrorAt = err.Error(), time.Now()
	w.m.Errors++
}

// setHalted records the alarm that stopped the sync.
func (w *Worker) setHalted(reason string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.m.Halted, w.m.HaltReason = true, reason
	w.m.LastError, w.m.LastErrorAt = reason, time.Now()
	w.m.Errors++
}

// rateWindow is the shortest window rows/s is measured over.
const rateWindow = time.Second

func (w *Worker) recordWrite(res store.WriteResult, lastTime time.Time, txs int64, took time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	if w.winStart.IsZero() {
		w.winStart = now.Add(-took)
	}
	w.m.Batches++
	if res.Copy {
		w.m.CopyBatches++
	}
	if res.Written > 0 {
		w.m.SyncedHeight, w.m.SyncedTime = res.Cursor, lastTime
		w.m.Blocks += int64(res.Written)
		w.m.Txs += txs
		w.m.Rows += int64(res.Rows)
	}
	if w.m.SyncedHeight > w.m.NodeHeight {
		w.m.NodeHeight, w.m.NodeTime = w.m.SyncedHeight, w.m.SyncedTime
	}
	w.m.LastBatchBlocks, w.m.LastWrite = res.Written, took
	w.winRows += int64(res.Rows)
	if el := now.Sub(w.winStart); el >= rateWindow {
		w.m.RowsPerSecond = float64(w.winRows) / el.Seconds()
		w.winStart, w.winRows = now, 0
	}
}

func (w *Worker) logProgress() {
	m := w.Metrics()
	w.log.Info("sync progress",
		slog.Int64("synced_height", m.SyncedHeight),
		slog.Int64("node_height", m.NodeHeight),
		slog.Int64("lag_heights", m.LagHeights),
		slog.Float64("lag_seconds", m.LagSeconds),
		slog.Float64("rows_per_second", m.RowsPerSecond),
		slog.Int64("txs", m.Txs),
		slog.Int("last_batch_blocks", m.LastBatchBlocks),
		slog.String("last_error", m.LastError),
		slog.Int("deferred_indexes", m.DeferredIndexes),
	)
}
