package ledgersync

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// syncMetric is one figure of Metrics as Prometheus shows it.
type syncMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*Metrics) float64
}

// newSyncMetric describes the figure name (after the ledgerscope_sync_ prefix).
func newSyncMetric(name, help string, kind prometheus.ValueType, value func(*Metrics) float64) syncMetric {
	return syncMetric{desc: prometheus.NewDesc("ledgerscope_sync_"+name, help, nil, nil), kind: kind, value: value}
}

// syncMetrics are the figures NewCollector exports. The counters count since the worker
// started, as Prometheus counters do since the process started.
var syncMetrics = []syncMetric{
	newSyncMetric("synced_height", "Height of the last block written to PostgreSQL (the sync cursor).",
		prometheus.GaugeValue, func(m *Metrics) float64 { return float64(m.SyncedHeight) }),
	newSyncMetric("synced_block_timestamp_seconds", "Block time of the last block written, in seconds since the Unix epoch.",
		prometheus.GaugeValue, func(m *Metrics) float64 { return unixSeconds(m.SyncedTime) }),
	newSyncMetric("node_height", "Latest height of the node the sync follows.",
		prometheus.GaugeValue, func(m *Metrics) float64 { return float64(m.NodeHeight) }),
	newSyncMetric("lag_blocks", "Blocks the node has committed that are not yet written.",
		prometheus.GaugeValue, func(m *Metrics) float64 { return float64(m.LagHeights) }),
	newSyncMetric("lag_seconds", "How far the last written block's time trails the node's latest block time.",
		prometheus.GaugeValue, func(m *Metrics) float64 { return m.LagSeconds }),
	newSyncMetric("blocks_written_total", "Blocks written to PostgreSQL.",
		prometheus.CounterValue, func(m *Metrics) float64 { return float64(m.Blocks) }),
	newSyncMetric("txs_written_total", "Transactions written to PostgreSQL, failed ones included.",
		prometheus.CounterValue, func(m *Metrics) float64 { return float64(m.Txs) }),
	newSyncMetric("rows_written_total", "Rows written to PostgreSQL.",
		prometheus.CounterValue, func(m *Metrics) float64 { return float64(m.Rows) }),
	newSyncMetric("batches_total", "Write transactions committed.",
		prometheus.CounterValue, func(m *Metrics) float64 { return float64(m.Batches) }),
	newSyncMetric("copy_batches_total", "Write transactions committed with COPY (catch-up).",
		prometheus.CounterValue, func(m *Metrics) float64 { return float64(m.CopyBatches) }),
	newSyncMetric("last_batch_blocks", "Blocks in the latest write transaction.",
		prometheus.GaugeValue, func(m *Metrics) float64 { return float64(m.LastBatchBlocks) }),
	newSyncMetric("last_write_duration_seconds", "How long the latest write transaction took.",
		prometheus.GaugeValue, func(m *Metrics) float64 { return m.LastWrite.Seconds() }),
	newSyncMetric("errors_total", "Errors of the node or the database, retried, and alarms.",
		prometheus.CounterValue, func(m *Metrics) float64 { return float64(m.Errors) }),
	newSyncMetric("halted", "1 once an alarm (a divergent block, another chain) stopped the sync, else 0.",
		prometheus.GaugeValue, func(m *Metrics) float64 { return boolValue(m.Halted) }),
	newSyncMetric("deferred_indexes", "Indexes, keys and rebuilds an initial load set aside and has not yet restored.",
		prometheus.GaugeValue, func(m *Metrics) float64 { return float64(m.DeferredIndexes) }),
}

// workerCollector reads a worker's Metrics when Prometheus scrapes, so that the figures cost the
// sync nothing between scrapes.
type workerCollector struct{ w *Worker }

// NewCollector returns a Prometheus collector of w's figures, named ledgerscope_sync_*.
func NewCollector(w *Worker) prometheus.Collector { return workerCollector{w: w} }

// Describe sends the descriptions of every figure.
func (c workerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, sm := range syncMetrics {
		ch <- sm.desc
	}
}

// Collect sends every figure of one snapshot of the worker's Metrics.
func (c workerCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.w.Metrics()
	for _, sm := range syncMetrics {
		ch <- prometheus.MustNewConstMetric(sm.desc, sm.kind, sm.value(&m))
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// unixSeconds is t in seconds since the epoch, 0 for the zero time (nothing written yet).
func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
