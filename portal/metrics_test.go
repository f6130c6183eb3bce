package portal

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/types"
	dto "github.com/prometheus/client_model/go"

	"github.com/ledgerscope/ledgerscope/appdb"
	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/ledgersync/memchain"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testChain commits a small signed mix, 1 in 20 failing, in memchain, and writes its genesis
// document where a portal reads it; it returns the chain, the genesis path and its tx count.
func testChain(t *testing.T) (*memchain.Chain, string, int) {
	t.Helper()
	const testChainID, testSeed = "ledgerscope-portal-test", "portal-test"
	start := time.Date(2026, 10, 30, 12, 0, 0, 0, time.UTC)
	g := ledger.DemoGenesis(testSeed)
	mc, err := memchain.New(memchain.Config{Dir: t.TempDir(), ChainID: testChainID, Genesis: g, GenesisTime: start, VerifyWorkers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mc.Close() })
	tr, err := memchain.NewTraffic(memchain.TrafficConfig{Seed: testSeed, ChainID: testChainID, Parties: 10, Txs: 200, FailEvery: 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mc.Run(tr, 25, start, time.Second); err != nil {
		t.Fatal(err)
	}
	txs := len(tr.Load)
	for _, p := range tr.Setup {
		txs += len(p)
	}
	state, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	doc := &types.GenesisDoc{ChainID: testChainID, GenesisTime: start, InitialHeight: 1, AppState: state}
	path := filepath.Join(t.TempDir(), "genesis.json")
	if err := doc.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	return mc, path, txs
}

// TestMetricsAfterSync runs a portal without a node over an in-process chain, the sync and
// the rules behind it, and gathers its registry once both have caught up: the sync's and the
// rules' figures are there under their names, with the synced height and the transactions
// written, beside the Go runtime's and the process's.
func TestMetricsAfterSync(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	mc, genesis, txs := testChain(t)
	cfg := Config{NoNode: true, source: mc, GenesisPath: genesis, Rules: true,
		DB: appdb.Config{URL: pgtest.URL(t)}, ReportEvery: time.Second}
	p, err := Start(ctx, cfg, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	}()
	top := mc.Height()
	for p.Worker().Metrics().SyncedHeight < top || p.rules.Metrics().CursorHeight < top {
		select {
		case <-p.Failed():
			t.Fatalf("portal halted: %v", p.Err())
		case <-ctx.Done():
			t.Fatalf("synced %d, rules at %d, of %d", p.Worker().Metrics().SyncedHeight, p.rules.Metrics().CursorHeight, top)
		case <-time.After(20 * time.Millisecond):
		}
	}
	got := gather(t, p)
	want := map[string]float64{
		"ledgerscope_sync_synced_height":        float64(top),
		"ledgerscope_sync_node_height":          float64(top),
		"ledgerscope_sync_lag_blocks":           0,
		"ledgerscope_sync_lag_seconds":          0,
		"ledgerscope_sync_blocks_written_total": float64(top),
		"ledgerscope_sync_txs_written_total":    float64(txs),
		"ledgerscope_sync_halted":               0,
		"ledgerscope_rules_cursor_height":       float64(top),
	}
	for name, v := range want {
		if g, ok := got[name]; !ok || g.value != v {
			t.Errorf("%s = %v (present %v), want %v", name, g.value, ok, v)
		}
	}
	for _, name := range []string{
		"ledgerscope_sync_rows_written_total", "ledgerscope_sync_batches_total", "ledgerscope_sync_copy_batches_total",
		"ledgerscope_sync_last_write_duration_seconds", "ledgerscope_sync_errors_total", "ledgerscope_sync_deferred_indexes",
		"ledgerscope_rules_passes_total", "ledgerscope_rules_blocks_evaluated_total", "ledgerscope_rules_findings_total",
		"ledgerscope_rules_last_pass_duration_seconds", "ledgerscope_rules_errors_total",
		"go_goroutines", "process_cpu_seconds_total",
	} {
		if _, ok := got[name]; !ok {
			t.Errorf("no %s", name)
		}
	}
	if g := got["ledgerscope_rules_findings_total"]; g.series < 2 || !strings.Contains(g.help, "by rule") {
		t.Errorf("findings by rule: %d series, help %q", g.series, g.help)
	}
	for name, g := range got {
		if strings.HasPrefix(name, "ledgerscope_") && g.help == "" {
			t.Errorf("%s has no help", name)
		}
	}
}

// family is what a test reads of one gathered metric family: the sum of its series' values.
type family struct {
	help   string
	series int
	value  float64
}

// gather reads p's registry as a scrape would.
func gather(t *testing.T, p *Portal) map[string]family {
	t.Helper()
	mfs, err := p.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]family{}
	for _, mf := range mfs {
		f := family{help: mf.GetHelp(), series: len(mf.GetMetric())}
		for _, m := range mf.GetMetric() {
			f.value += value(mf.GetType(), m)
		}
		out[mf.GetName()] = f
	}
	return out
}

func value(kind dto.MetricType, m *dto.Metric) float64 {
	switch kind {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	}
	return 0
}
