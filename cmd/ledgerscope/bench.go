package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/bench"
)

func newBenchCmd() *cobra.Command {
	var profile string
	cfg := bench.Config{Dir: "var/bench", Txs: 200_000, FullNodeTxs: 600_000, BasePort: 27656, Sync: bench.DefaultSyncConfig(), Soak: bench.DefaultSoakConfig()}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure throughput, latency and memory on this machine and print a table",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if profile != "" {
				f, err := os.Create(profile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			return bench.Run(cmd.Context(), cfg, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&profile, "cpuprofile", "", "write a CPU profile of the run to this file")
	cmd.Flags().StringVar(&cfg.Dir, "dir", cfg.Dir, "scratch directory, removed afterwards")
	cmd.Flags().IntVar(&cfg.Txs, "txs", cfg.Txs, "signed transactions of the app and devnet throughput measures")
	cmd.Flags().IntVar(&cfg.FullNodeTxs, "fullnode-txs", cfg.FullNodeTxs, "signed transactions the full node block-syncs")
	cmd.Flags().IntVar(&cfg.BasePort, "base-port", cfg.BasePort, "first local port of the benchmark devnets")
	cmd.Flags().StringSliceVar(&cfg.Only, "only", nil, fmt.Sprintf("measure only these groups of rows, comma-separated: %s", strings.Join(bench.Groups, ", ")))
	s := &cfg.Sync
	cmd.Flags().StringVar(&s.PGDir, "pg-dir", s.PGDir, "private PostgreSQL cluster for the sync figures, used when neither DATABASE_URL nor a server on 127.0.0.1:5432 is there")
	cmd.Flags().IntVar(&s.IngestTxs, "ingest-txs", s.IngestTxs, "transactions the catch-up ingest figure syncs, without and (group rules) with the rules behind the sync")
	cmd.Flags().IntVar(&s.IngestPerBlock, "ingest-block", s.IngestPerBlock, "transactions per block of the catch-up chain")
	cmd.Flags().IntVar(&s.LiveRate, "live-rate", s.LiveRate, "tx/s the live lag figure commits")
	cmd.Flags().DurationVar(&s.LiveBlock, "live-block", s.LiveBlock, "block interval of the live lag figure")
	cmd.Flags().DurationVar(&s.LiveFor, "live-for", s.LiveFor, "how long the live lag figure runs")
	cmd.Flags().IntVar(&s.QueryTxs, "query-txs", s.QueryTxs, "synthetic transactions loaded for the query figures")
	cmd.Flags().IntVar(&s.QueryRuns, "query-runs", s.QueryRuns, "timed runs of each query")
	cmd.Flags().IntVar(&s.BacktestTxs, "backtest-txs", s.BacktestTxs, "synthetic transactions loaded for the rule backtest figure")
	cmd.Flags().IntVar(&s.BacktestDays, "backtest-days", s.BacktestDays, "days of block time those transactions span, all of them backtested")
	k := &cfg.Soak
	cmd.Flags().Float64Var(&k.Rate, "soak-rate", k.Rate, "tx/s of the soak's load generator")
	cmd.Flags().DurationVar(&k.Duration, "duration", k.Duration, "how long each phase of the soak runs (the demo stack, then a portal following it)")
	cmd.Flags().DurationVar(&k.Every, "soak-every", k.Every, "how often the soak samples memory, goroutines, open files and disk")
	cmd.Flags().DurationVar(&k.Warmup, "soak-warmup", k.Warmup, "how long a soak phase runs before its growth is counted")
	return cmd
}
