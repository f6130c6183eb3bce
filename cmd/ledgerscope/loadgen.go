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

	"github.com/ledgerscope/ledgerscope/loadgen"
)

// loadgenFlags are the load generator's command-line settings.
type loadgenFlags struct {
	rate       float64
	duration   time.Duration
	seed       uint64
	node       string
	demoSeed   string
	truth      string
	watchlist  string // empty: beside truth (watchlistPath)
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
scenarios are injected at that share of transactions, in turn: large
transfers by institutions and individuals, structuring, holdings crossing 5% and then moving
1% more, position limits, self-dealing, matched trades, frozen-account attempts, failed and
late settlements, uncovered mints, rapid in-and-out, parties on the watch list and trades
out of session. Their rules, in the order the scenarios take turns:

    ` + strings.Join(loadgen.Scenarios(), " ") + `

Each transaction a rule must flag is written to the ground-truth file (--truth) as a JSON line.

The WATCH scenario's parties are on a watch list fixed by the seeds, written as CSV (--watchlist,
by default beside --truth: truth.jsonl gives watchlist.csv) before the traffic starts. The rules
flag them only once it is uploaded, before they evaluate the traffic:

    ledgerscope rules watchlist upload watchlist.csv --reason 'loadgen watch list'

The first run on a chain performs the setup (accounts, assets, initial holdings) and starts
both files afresh; later runs take --setup=false and a --seed of their own, append to the
ground truth and add their parties to the watch list, which is then to be uploaded again.
Stop with Ctrl-C: settlements under way are confirmed before the command exits.`,
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
	fl.StringVar(&f.watchlist, "watchlist", "", "watch list file (CSV) of the WATCH scenario's parties, to upload with rules watchlist upload (default: beside --truth, truth.jsonl -> watchlist.csv)")
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
	case filepath.Clean(f.watchlistPath()) == filepath.Clean(f.truth):
		return fmt.Errorf("--watchlist %s is the ground-truth file", f.watchlist)
	}
	return nil
}

// watchlistPath is --watchlist or, by default, a file beside the ground truth named after it:
// truth.jsonl gives watchlist.csv, run1-truth.jsonl run1-watchlist.csv, labels.jsonl
// labels.watchlist.csv, so that two ground-truth files in one directory keep their lists apart.
func (f *loadgenFlags) watchlistPath() string {
	if f.watchlist != "" {
		return f.watchlist
	}
	dir, base := filepath.Split(f.truth)
	base = strings.TrimSuffix(base, filepath.Ext(base))
	if i := strings.LastIndex(base, "truth"); i >= 0 {
		base = base[:i] + "watchlist" + base[i+len("truth"):]
	} else {
		base += ".watchlist"
	}
	return filepath.Join(dir, base+".csv")
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

// driveLoad runs the generator against a node, through the RPC or in-process, and says how to
// upload the watch list its WATCH scenario expects before the traffic starts.
func driveLoad(ctx context.Context, f loadgenFlags, chainID string, sub loadgen.Submitter, q loadgen.Querier, log *slog.Logger, out io.Writer) error {
	plan, err := prepareLoad(ctx, f, chainID, q, log)
	if err != nil {
		return err
	}
	if plan.watchlist != "" {
		fmt.Fprintf(out, "loadgen: watch list of %d parties in %s; for the WATCH rule to flag them, upload it before the rules evaluate this traffic:\n",
			plan.watchEntries, plan.watchlist)
		fmt.Fprintf(out, "  ledgerscope rules watchlist upload %s --reason 'loadgen watch list'\n", plan.watchlist)
	}
	return plan.run(ctx, sub, q, log, out)
}

// loadPlan is a generator ready to run: the chain's setup done or the generator restored, and
// the watch list written.
type loadPlan struct {
	f          loadgenFlags
	chainID    string
	gen        *loadgen.Generator
	setup      bool
	truthFlags int // the ground-truth file is truncated by a setup run, appended to otherwise
	// watchlist is the watch list file written, empty without violation scenarios.
	watchlist    string
	watchEntries int
}

// prepareLoad makes the generator, sets the chain up or restores the generator from it, and
// writes the watch list.
func prepareLoad(ctx context.Context, f loadgenFlags, chainID string, q loadgen.Querier, log *slog.Logger) (*loadPlan, error) {
	session := loadgen.ExchangeSessions
	if f.sessions == "always" {
		session = loadgen.AlwaysOpen
	}
	gen, err := loadgen.New(loadgen.Config{
		ChainID: chainID, DemoSeed: f.demoSeed, Seed: f.seed, Clock: loadgen.WallClock{},
		Population: f.population, Violations: f.violations, Session: session,
	})
	if err != nil {
		return nil, err
	}
	qctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	p := &loadPlan{f: f, chainID: chainID, gen: gen, truthFlags: os.O_CREATE | os.O_WRONLY | os.O_APPEND}
	done, err := gen.HasSetup(qctx, q)
	if err != nil {
		return nil, err
	}
	p.setup = f.setup
	if f.auto {
		p.setup = !done
	}
	if p.setup {
		if done {
			return nil, errors.New("the chain already has the loadgen setup: run with --setup=false and a new --seed")
		}
		if err := gen.SyncSigners(qctx, q); err != nil {
			return nil, err
		}
		p.truthFlags = os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	} else if err := gen.Restore(qctx, q); err != nil {
		return nil, err
	}
	if f.violations > 0 {
		p.watchlist = f.watchlistPath()
		if p.watchEntries, err = writeWatchlist(p.watchlist, gen, !p.setup); err != nil {
			return nil, err
		}
		log.Info("loadgen watch list written", "path", p.watchlist, "entries", p.watchEntries)
	}
	return p, nil
}

// run submits the generator's traffic until ctx ends or the duration is over, writing the
// ground truth, and prints what it did.
func (p *loadPlan) run(ctx context.Context, sub loadgen.Submitter, q loadgen.Querier, log *slog.Logger, out io.Writer) error {
	f := p.f
	if err := os.MkdirAll(filepath.Dir(f.truth), 0o755); err != nil {
		return fmt.Errorf("truth file: %w", err)
	}
	truth, err := os.OpenFile(f.truth, p.truthFlags, 0o644)
	if err != nil {
		return fmt.Errorf("truth file: %w", err)
	}
	log.Info("loadgen starting", "chain_id", p.chainID, "rate", f.rate, "duration", f.duration,
		"setup", p.setup, "violations", f.violations, "truth", f.truth, "watchlist", p.watchlist)
	// The querier also tells Run which transactions of other signers are in a block, so that
	// it holds back those that need them: without it, an in-process submitter sends
	// everything in stream order and a multi-validator proposer reorders it.
	stats, err := loadgen.Run(ctx, loadgen.RunConfig{Rate: f.rate, Duration: f.duration, Logger: log, Querier: q}, p.gen, sub, truth)
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
		fmt.Fprintf(out, "loadgen: %d ground-truth lines in %s; scenarios %v; watch list in %s\n",
			stats.TruthLines, f.truth, stats.Scenarios, p.watchlist)
	}
	return err
}
