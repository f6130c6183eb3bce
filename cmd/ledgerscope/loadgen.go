package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/ledger/loadgen"
)

// loadgenFlags are the load generator's command-line settings.
type loadgenFlags struct {
	rate       float64
	duration   time.Duration
	seed       uint64
	node       string
	demoSeed   string
	truth      string
	violations float64
	setup      bool
	population int
	sessions   string
	batch      int
	chainID    string
	// auto sets the chain up on first use and restores the generator on a chain already set
	// up (the devnet's in-process load), instead of obeying setup.
	auto bool
}

func newLoadgenCmd() *cobra.Command {
	f := loadgenFlags{}
	cmd := &cobra.Command{
		Use:   "loadgen",
		Short: "Submit realistic signed consortium traffic, with labelled violations, to a node",
		Long: `Submit realistic signed traffic to a node over CometBFT RPC: DvP trades at the exchange
venues, gateway settlements through UPGW, transfers, coin deposits with reserve attestations,
redemptions and burns, new clients, freezes. With --violations above 0, compliance violation
scenarios (large transfers, structuring, 5% holdings, position limits, self-dealing, matched
trades, frozen-account attempts, uncovered mints, failed and late settlements, rapid
in-and-out) are injected at that share of transactions, and each transaction a rule must flag
is written to the ground-truth file (--truth) as a JSON line.

The first run on a chain performs the setup (accounts, assets, initial holdings); later runs
take --setup=false and a --seed of their own. Stop with Ctrl-C: settlements under way are
confirmed before the command exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// The first Ctrl-C drains; a second one, back to the default, ends the process.
			go func() {
				<-ctx.Done()
				stop()
			}()
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
			return runLoadgen(ctx, f, log, cmd.OutOrStdout())
		},
	}
	fl := cmd.Flags()
	fl.Float64Var(&f.rate, "rate", 1000, "target rate in transactions per second")
	fl.DurationVar(&f.duration, "duration", 0, "how long to run (0: until interrupted)")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the traffic; each run on one chain needs its own")
	fl.StringVar(&f.node, "node", "http://127.0.0.1:26657", "CometBFT RPC address of the node")
	fl.StringVar(&f.demoSeed, "demo-seed", "devnet", "seed of the demo keys, as the devnet's --seed")
	fl.StringVar(&f.truth, "truth", "var/devnet/truth.jsonl", "ground-truth file (JSON lines); truncated by a setup run, appended to otherwise")
	fl.Float64Var(&f.violations, "violations", 0, "share of transactions that start a violation scenario (0: clean traffic)")
	fl.BoolVar(&f.setup, "setup", true, "run the setup phase first (accounts, assets, holdings)")
	fl.IntVar(&f.population, "population", loadgen.DefaultPopulation, "clients opened by the setup phase (later runs on the chain must give the same)")
	fl.StringVar(&f.sessions, "sessions", "exchange", "trading sessions: exchange (venue hours, Asia/Shanghai) or always")
	fl.IntVar(&f.batch, "batch", 500, "transactions per JSON-RPC batch request (the node's rpc.max_request_batch_size bounds it)")
	fl.StringVar(&f.chainID, "chain-id", "", "chain id to sign for (default: the node's)")
	return cmd
}

func (f *loadgenFlags) validate() error {
	switch {
	case f.rate <= 0 || f.rate > 1_000_000:
		return fmt.Errorf("--rate %v: want more than 0, at most 1,000,000", f.rate)
	case f.duration < 0:
		return fmt.Errorf("--duration %v is negative", f.duration)
	case f.violations < 0 || f.violations > 1:
		return fmt.Errorf("--violations %v: want 0 to 1", f.violations)
	case f.sessions != "exchange" && f.sessions != "always":
		return fmt.Errorf("--sessions %q: want exchange or always", f.sessions)
	case f.truth == "":
		return errors.New("--truth is empty")
	}
	return nil
}

func runLoadgen(ctx context.Context, f loadgenFlags, log *slog.Logger, out io.Writer) error {
	if err := f.validate(); err != nil {
		return err
	}
	rpc, err := loadgen.NewRPC(f.node, loadgen.RPCOptions{Batch: f.batch})
	if err != nil {
		return err
	}
	chainID := f.chainID
	if chainID == "" {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		chainID, err = rpc.ChainID(qctx)
		cancel()
		if err != nil {
			return fmt.Errorf("is a node running at %s? %w", f.node, err)
		}
	}
	return driveLoad(ctx, f, chainID, rpc, rpc, log, out)
}

// driveLoad runs the generator against a node, through the RPC or in-process.
func driveLoad(ctx context.Context, f loadgenFlags, chainID string, sub loadgen.Submitter, q loadgen.Querier, log *slog.Logger, out io.Writer) error {
	session := loadgen.ExchangeSessions
	if f.sessions == "always" {
		session = loadgen.AlwaysOpen
	}
	gen, err := loadgen.New(loadgen.Config{
		ChainID: chainID, DemoSeed: f.demoSeed, Seed: f.seed, Clock: loadgen.WallClock{},
		Population: f.population, Violations: f.violations, Session: session,
	})
	if err != nil {
		return err
	}
	qctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	flags := os.O_CREATE | os.O_WRONLY | os.O_APPEND
	done, err := gen.HasSetup(qctx, q)
	if err != nil {
		return err
	}
	setup := f.setup
	if f.auto {
		setup = !done
	}
	if setup {
		if done {
			return errors.New("the chain already has the loadgen setup: run with --setup=false and a new --seed")
		}
		if err := gen.SyncSigners(qctx, q); err != nil {
			return err
		}
		flags = os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	} else if err := gen.Restore(qctx, q); err != nil {
		return err
	}
	cancel()

	if err := os.MkdirAll(filepath.Dir(f.truth), 0o755); err != nil {
		return fmt.Errorf("truth file: %w", err)
	}
	truth, err := os.OpenFile(f.truth, flags, 0o644)
	if err != nil {
		return fmt.Errorf("truth file: %w", err)
	}
	log.Info("loadgen starting", "chain_id", chainID, "rate", f.rate, "duration", f.duration,
		"setup", setup, "violations", f.violations, "truth", f.truth)
	// The querier also tells Run which transactions of other signers are in a block, so that
	// it holds back those that need them: without it, an in-process submitter sends
	// everything in stream order and a multi-validator proposer reorders it.
	stats, err := loadgen.Run(ctx, loadgen.RunConfig{Rate: f.rate, Duration: f.duration, Logger: log, Querier: q}, gen, sub, truth)
	if cerr := truth.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("truth file: %w", cerr)
	}
	fmt.Fprintf(out, "loadgen: %d submitted, %d accepted, %d rejected %s, %.0f tx/s over %s\n",
		stats.Submitted, stats.Accepted, stats.Rejected, strings.Join(stats.ByCodeSorted(), " "),
		stats.Rate, stats.Elapsed.Round(time.Second))
	if stats.Held > 0 {
		fmt.Fprintf(out, "loadgen: %d held back for other signers' transactions, %v on average, %v at most; %d sent again\n",
			stats.Held, (stats.HeldWait / time.Duration(stats.Held)).Round(time.Millisecond),
			stats.HeldMaxWait.Round(time.Millisecond), stats.Resent)
	}
	if f.violations > 0 {
		fmt.Fprintf(out, "loadgen: %d ground-truth lines in %s; scenarios %v\n", stats.TruthLines, f.truth, stats.Scenarios)
	}
	return err
}
