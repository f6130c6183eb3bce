package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestSyncRowsSmall runs the ledgersync figures at toy sizes: every row comes out with a
// value, and the scratch databases are gone afterwards. The figures themselves are only
// meaningful at `make bench` sizes.
func TestSyncRowsSmall(t *testing.T) {
	ctx := context.Background()
	cfg := SyncConfig{
		DatabaseURL: pgtest.AdminURL(), IngestTxs: 3000, IngestPerBlock: 500,
		LiveRate: 1000, LiveBlock: 200 * time.Millisecond, LiveFor: time.Second,
		QueryTxs: 100_000, QueryRuns: 10,
		BacktestTxs: 20_000, BacktestDays: 30,
	}
	tests := []struct {
		groups []string
		want   []string
		// ingestTxs, when set, replaces cfg's: the rules make each tx several times dearer.
		ingestTxs int
	}{
		{groups: []string{GroupIngest}, want: []string{"catch-up ingest", "raw COPY", "table size per 1M txs", "size per 1M txs: transactions"}},
		{groups: []string{GroupLive}, want: []string{"live lag at 1000 tx/s"}},
		{groups: []string{GroupQuery}, want: []string{"keyset page of 50", "30-day daily volume"}},
		// Both, as make bench runs them: one chain, synced without and then with the rules.
		{groups: []string{GroupIngest, GroupRules}, want: []string{"catch-up ingest (ledgersync", "raw COPY", "catch-up ingest with the rules behind it", "rules cost"}, ingestTxs: 1000},
		{groups: []string{GroupBacktest}, want: []string{"30-day backtest of one rule", "backtest rate"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.groups, ","), func(t *testing.T) {
			want := func(g string) bool { return strings.Contains(strings.Join(tt.groups, ","), g) }
			cfg := cfg
			if tt.ingestTxs > 0 {
				cfg.IngestTxs = tt.ingestTxs
			}
			rows, err := SyncRows(ctx, cfg, t.TempDir(), want, t.Logf)
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			Print(&out, rows)
			for _, name := range tt.want {
				found := false
				for _, r := range rows {
					if strings.Contains(r.Name, name) {
						found = true
						// Sizes round to zero at toy sizes, and a cost can be negative in noise.
						if r.Value <= 0 && !strings.HasPrefix(r.Name, "  size") && r.Unit != "%" {
							t.Errorf("%s: value %v", r.Name, r.Value)
						}
					}
				}
				if !found {
					t.Errorf("no row %q in\n%s", name, out.String())
				}
			}
			t.Log("\n" + out.String())
		})
	}
	var left int
	if err := pgxCount(ctx, pgtest.AdminURL(), &left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d scratch databases left behind", left)
	}
}

// TestSyncConfigLimits refuses sizes that could not be meant.
func TestSyncConfigLimits(t *testing.T) {
	ok := DefaultSyncConfig()
	if err := ok.validate(); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	for _, bad := range []func(*SyncConfig){
		func(c *SyncConfig) { c.IngestTxs = 0 },
		func(c *SyncConfig) { c.IngestTxs = maxIngestTxs + 1 },
		func(c *SyncConfig) { c.IngestPerBlock = 0 },
		func(c *SyncConfig) { c.LiveBlock = time.Millisecond },
		func(c *SyncConfig) { c.LiveFor = 2 * time.Hour },
		func(c *SyncConfig) { c.QueryTxs = 10 },
		func(c *SyncConfig) { c.QueryRuns = 0 },
		func(c *SyncConfig) { c.BacktestTxs = minBacktestTxs - 1 },
		func(c *SyncConfig) { c.BacktestTxs = maxBacktestTxs + 1 },
		func(c *SyncConfig) { c.BacktestDays = 0 },
		func(c *SyncConfig) { c.BacktestDays = maxBacktestDays + 1 },
	} {
		c := DefaultSyncConfig()
		bad(&c)
		if err := c.validate(); err == nil {
			t.Errorf("accepted %+v", c)
		}
	}
}

func pgxCount(ctx context.Context, url string, n *int) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname LIKE $1", fmt.Sprintf("lsbench_%%_%d", os.Getpid())).Scan(n)
}

// TestSecondBenchRefused: a bench in a scratch directory another bench holds stops at once
// with a message naming the holder, and takes the directory once the first is done.
func TestSecondBenchRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "bench") // var/ not made yet, as in a fresh clone
	unlock, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = Run(context.Background(), Config{Dir: dir, Only: []string{"verify"}}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("another bench (pid %d)", os.Getpid())) {
		t.Fatalf("second bench: %v", err)
	}
	unlock()
	again, err := lockDir(dir)
	if err != nil {
		t.Fatalf("after the first is done: %v", err)
	}
	again()
}
