package main

import (
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/bench"
)

func newBenchCmd() *cobra.Command {
	var profile string
	cfg := bench.Config{Dir: "var/bench", Txs: 200_000, BasePort: 27656}
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
	cmd.Flags().IntVar(&cfg.Txs, "txs", cfg.Txs, "signed transactions per throughput measure")
	cmd.Flags().IntVar(&cfg.BasePort, "base-port", cfg.BasePort, "first local port of the benchmark devnets")
	return cmd
}
