package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/appdb"
	"github.com/ledgerscope/ledgerscope/devnet"
	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/loadgen"
	"github.com/ledgerscope/ledgerscope/portal"
	"github.com/ledgerscope/ledgerscope/server"
)

// devnetFlags are the devnet command's options beyond the devnet's own.
type devnetFlags struct {
	every time.Duration
	sync  bool
	db    appdb.Config
	load  loadgenFlags
	web   string // with sync: the portal's pages
}

func newDevnetCmd() *cobra.Command {
	opts := devnet.DefaultOptions()
	var f devnetFlags
	cmd := &cobra.Command{
		Use:   "devnet",
		Short: "Run a demo consortium on this machine: exchange validators on 127.0.0.1",
		Long: `Run a demo consortium on this machine: one validator per regional exchange (4 by default),
each an embedded CometBFT node with its own ledger app, peers on 127.0.0.1, state under --home.
Validator 0 serves CometBFT RPC on 127.0.0.1:26657. The first start writes the genesis (11
members, the regulator, the settlement coin) and the demo signing keys to <home>/keys; later
starts resume the same chain.

With --sync, a non-validating full node (the portal's) follows the validators, re-executing
every transaction, and ledgersync replicates its blocks into PostgreSQL, where the compliance
rules evaluate them.

With --load-rate, the load generator signs traffic with labelled violation scenarios; the
ground truth goes to <home>/truth.jsonl and the watch list of the WATCH scenario's parties to
<home>/watchlist.csv. With --sync too, that list is uploaded (by "devnet") before the traffic
starts, unless it is the current watch list version already. A later start continues the
chain with a seed of its own and adds its parties to the list, so that the earlier ones stay
listed. Stop with Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			opts.Logger = log
			return runDevnet(ctx, cmd.OutOrStdout(), opts, f, log)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Home, "home", opts.Home, "state directory of the devnet")
	fl.IntVar(&opts.Validators, "validators", opts.Validators, "number of exchange validators (1 to 4)")
	fl.StringVar(&opts.Seed, "seed", opts.Seed, "seed of the demo keys (the load generator must match it)")
	fl.IntVar(&opts.BasePort, "base-port", opts.BasePort, "P2P port of validator 0; validator i uses base+10i, RPC is base+1")
	fl.DurationVar(&f.every, "report-every", 5*time.Second, "how often to print heights and throughput")
	fl.BoolVar(&f.sync, "sync", false, "also run the portal: its full node, the sync into PostgreSQL, the rules and the web pages")
	fl.StringVar(&f.web, "http-listen", server.DefaultListen, "with --sync: host:port of the portal's pages and API; empty: none")
	fl.Float64Var(&f.load.rate, "load-rate", 0, "submit generated traffic to validator 0 at this many tx/s (0: none)")
	fl.Float64Var(&f.load.violations, "violations", 0.02, "with --load-rate: share of transactions that start a violation scenario")
	fl.StringVar(&f.load.sessions, "sessions", "exchange", "with --load-rate: when venues trade, exchange (their hours, Asia/Shanghai: no DvP at night) or always (the SESSION rule then flags trades out of hours)")
	addDBFlags(cmd, &f.db)
	return cmd
}

func runDevnet(ctx context.Context, out io.Writer, opts devnet.Options, f devnetFlags, log *slog.Logger) error {
	net, err := devnet.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		if err := net.Stop(); err != nil {
			slog.Error("devnet stop", "err", err)
		}
	}()
	fmt.Fprintf(out, "devnet %s: %d validators, state in %s\n", net.Meta.ChainID, net.Meta.Validators, opts.Home)
	fmt.Fprintf(out, "  CometBFT RPC   %s\n", net.RPC())
	fmt.Fprintf(out, "  signing keys   %s/keys (regulator, szfe, bocs, htsc, ...)\n", opts.Home)
	fmt.Fprintf(out, "  try            %s\n", tryQueryLine(opts.Home, net.RPC()))

	var p *portal.Portal
	if f.sync {
		var err error
		pc := portal.ForDevnet(net, opts.Home, f.db, f.every)
		pc.HTTPListen = f.web
		if p, err = portal.Start(ctx, pc, log); err != nil {
			return err
		}
		defer func() {
			if err := p.Close(); err != nil {
				log.Error("portal stop", "err", err)
			}
		}()
		db := p.Database()
		fmt.Fprintf(out, "  portal node    %s, re-executing every block\n", p.Node().P2PAddress())
		fmt.Fprintf(out, "  PostgreSQL     %s\n", db.URL())
		fmt.Fprintf(out, "  try            psql '%s' -c 'select height, tx_count, failed_count, time from blocks order by height desc limit 5'\n", db.URL())
		if err := printPortalLogins(ctx, out, p, opts.Home); err != nil {
			return err
		}
	}
	if f.load.rate > 0 {
		if err := startDevnetLoad(ctx, net, opts, f.load, p, out, log); err != nil {
			return err
		}
	}
	return reportProgress(ctx, net, p, out, f.every)
}

// tryQueryLine is a command a newcomer can paste as printed: it names the home's keys and the
// node, whose RPC port follows --base-port rather than the query's default.
func tryQueryLine(home, rpc string) string {
	line := "bin/ledgerscope query members --home " + home
	if rpc != defaultNode {
		line += " --node " + rpc
	}
	return line
}

// startDevnetLoad prepares the load generator in-process against validator 0 (the chain is
// set up on first use, and later runs continue it with a seed of their own), writes its watch
// list into the home and, with the sync, uploads it before the traffic starts, so that the
// rules flag the WATCH scenario from its first transaction. The traffic then runs in the
// background until ctx ends.
func startDevnetLoad(ctx context.Context, net *devnet.Net, opts devnet.Options, lf loadgenFlags, p *portal.Portal, out io.Writer, log *slog.Logger) error {
	v0 := net.Members[0]
	lf.auto = true
	lf.demoSeed = net.Meta.Seed
	lf.truth = filepath.Join(opts.Home, "truth.jsonl")
	lf.watchlist = filepath.Join(opts.Home, "watchlist.csv")
	lf.population = loadgen.DefaultPopulation
	lf.seed = 1
	if v0.App.Height() > 1 {
		// A continued run needs a seed of its own: its new accounts must not collide. Its
		// watch list is the earlier runs' with this seed's parties added (writeWatchlist).
		lf.seed = uint64(v0.App.Height())
	}
	q := loadgen.AppQuerier{App: v0.App}
	plan, err := prepareLoad(ctx, lf, net.Meta.ChainID, q, log)
	if err != nil {
		return fmt.Errorf("load generator: %w", err)
	}
	fmt.Fprintf(out, "  traffic        %.0f tx/s, %.0f%% violation scenarios, ground truth in %s\n",
		lf.rate, 100*lf.violations, lf.truth)
	switch {
	case plan.watchlist == "":
	case p == nil:
		fmt.Fprintf(out, "  watch list     %s (%d entries); to use it: bin/ledgerscope rules watchlist upload %s --reason '%s'\n",
			plan.watchlist, plan.watchEntries, plan.watchlist, portal.DevnetWatchlistReason)
	default:
		v, n, saved, err := portal.UploadDevnetWatchlist(ctx, p.Database().DB, plan.watchlist)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  watch list     %s\n", portal.UploadSaid(plan.watchlist, v, n, saved))
	}
	go func() {
		err := plan.run(ctx, loadgen.CheckTxFunc(v0.Node.SubmitTx), q, log, io.Discard)
		if err != nil && ctx.Err() == nil {
			log.Error("load generator stopped", "err", err)
		}
	}()
	return nil
}

// reportProgress prints the chain's height and committed throughput until ctx ends, reading
// blocks from validator 0 as any follower would, and the sync worker's position if it runs.
func reportProgress(ctx context.Context, net *devnet.Net, p *portal.Portal, out io.Writer, every time.Duration) error {
	var halted <-chan struct{} // nil without the portal: never ready
	if p != nil {
		halted = p.Failed()
	}
	src := net.Members[0].Node
	next := net.Members[0].App.Height() + 1
	var txs, failed int
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(out, "devnet stopping")
			return nil
		case <-src.Done():
			return fmt.Errorf("validator 0 stopped: %w", src.Err())
		case <-halted:
			return p.Err()
		case now := <-ticker.C:
			h := net.Members[0].App.Height()
			for ; next <= h; next++ {
				b, err := src.Block(ctx, next)
				if err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return fmt.Errorf("read block %d: %w", next, err)
				}
				txs += len(b.Txs)
				for _, r := range b.TxResults {
					if r.Code != uint32(ledger.CodeOK) {
						failed++
					}
				}
			}
			secs := now.Sub(last).Seconds()
			line := fmt.Sprintf("%s height %d  %.1f tx/s  (%d txs, %d failed, in the last %.0fs)",
				now.Format("15:04:05"), h, float64(txs)/secs, txs, failed, secs)
			if p != nil {
				m := p.Worker().Metrics()
				line += fmt.Sprintf("  synced %d, lag %d", m.SyncedHeight, m.LagHeights)
				if m.Halted {
					line += "  SYNC HALTED: " + m.HaltReason
				}
			}
			fmt.Fprintln(out, line)
			txs, failed, last = 0, 0, now
		}
	}
}

// printPortalLogins seeds the demo users once the sync has written the members, and prints
// the portal's address and a login for every role.
func printPortalLogins(ctx context.Context, out io.Writer, p *portal.Portal, home string) error {
	if p.WebURL() == "" {
		return nil
	}
	logins, err := portal.SeedDemoUsers(ctx, p.Database().DB, home)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  portal         %s  (logins also in %s)\n", p.WebURL(), portal.DemoLoginsFile(home))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, l := range logins {
		role := l.Role
		if l.Member != "" {
			role += " of " + l.Member
		}
		second := ""
		if l.TOTPSecret != "" {
			second = "TOTP secret " + l.TOTPSecret
		}
		fmt.Fprintf(tw, "                 %s\t%s\tpassword %s\t%s\n", l.Username, role, l.Password, second)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "                 (a code for a TOTP secret: bin/ledgerscope users demo-code csrc --home %s)\n", home)
	return nil
}
