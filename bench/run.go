package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Config sizes a benchmark run.
type Config struct {
	// Dir holds the chains the run creates; it is removed afterwards.
	Dir string
	// Txs is how many signed transactions each throughput measure uses.
	Txs int
	// BasePort is the first of the local ports the devnets use.
	BasePort int
}

// Run measures everything and prints the table to w.
func Run(ctx context.Context, cfg Config, w io.Writer) error {
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return err
	}
	defer os.RemoveAll(cfg.Dir)
	const seed, chainID = "bench", "ledgerscope-devnet"
	var rows []Row
	progress := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...) }

	progress("measuring the batch Ed25519 verify rate")
	limit := VerifyRate(3 * time.Second)
	rows = append(rows, limit)

	progress("signing %d transactions", cfg.Txs)
	tr := transfers(seed, chainID, 5000, cfg.Txs)

	progress("app re-execution")
	app, err := AppValidation(filepath.Join(cfg.Dir, "app"), seed, chainID, tr, 10_000)
	if err != nil {
		return fmt.Errorf("app validation: %w", err)
	}
	rows = append(rows, app, Row{Name: "  ratio to the verify ceiling", Value: app.Value / limit.Value, Unit: "×", Goal: 0.6})

	progress("full node block sync")
	fn, err := FullNodeSync(ctx, filepath.Join(cfg.Dir, "fullnode"), cfg.BasePort+100, seed, tr)
	if err != nil {
		return fmt.Errorf("full node sync: %w", err)
	}
	rows = append(rows, fn, Row{Name: "  ratio to the verify ceiling", Value: fn.Value / limit.Value, Unit: "×", Goal: 0.6})

	progress("devnet of 4 validators")
	dn, err := DevnetThroughput(ctx, filepath.Join(cfg.Dir, "devnet4"), 4, cfg.BasePort, seed, tr)
	if err != nil {
		return fmt.Errorf("devnet throughput: %w", err)
	}
	rows = append(rows, dn)

	progress("binary start-up")
	su, err := Startup(ctx, filepath.Join(cfg.Dir, "startup"), cfg.BasePort+200)
	if err != nil {
		return fmt.Errorf("start-up: %w", err)
	}
	rows = append(rows, su...)

	Print(w, rows)
	return nil
}
