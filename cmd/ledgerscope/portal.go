package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/devnet"
	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/ledgersync"
	"github.com/ledgerscope/ledgerscope/portal"
)

func newPortalCmd() *cobra.Command {
	c := portal.Config{Moniker: portal.DefaultMoniker, Rules: true}
	var peers string
	cmd := &cobra.Command{
		Use:   "portal",
		Short: "Run the portal's full node and ledgersync into PostgreSQL, with the compliance rules",
		Long: `Run what a regulator's portal deployment runs against the consortium: a non-validating
CometBFT full node embedded in this process, which block-syncs from the validators (--peers),
re-executes every transaction and halts loudly if its app hash disagrees with the chain; and
ledgersync, which replicates the node's blocks into PostgreSQL, with the compliance rules
evaluated behind it.

The first start initialises --home from --genesis (node key, config) and records the peers
and listen addresses in <home>/` + portal.StateFile + `; later starts with --home alone resume.

--no-sync runs only the node. --no-node --node-rpc URL runs only the sync, following a remote
node (as the sync command does).

--from-devnet DIR follows a devnet running on this machine (make run): the genesis and the
validators' addresses come from DIR, the node listens on the devnet's next free port slot
unless --p2p-listen and --rpc-listen say otherwise, and the database is ` + portal.FromDevnetDBName + `
unless --db-name says otherwise (the devnet's --sync writes ledgerscope). A new home following a
devnet starts with a fresh database.

It prints the node's id and addresses, the database and the chain id, then every
--report-every the node's height, peers, whether it is catching up, the synced height and the
lag. Stop it with Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if peers != "" {
				c.Peers = splitList(peers)
			}
			if err := c.Check(); err != nil {
				return err
			}
			fl := cmd.Flags()
			if c.FromDevnet != "" {
				if err := c.ApplyDevnet(fl.Changed("p2p-listen"), fl.Changed("rpc-listen"), fl.Changed("db-name")); err != nil {
					return err
				}
			}
			// Settings not given on this start are those recorded by the last one.
			dev := c.FromDevnet != ""
			c.Given = portal.Given{
				Peers: peers != "" || dev, P2PListen: fl.Changed("p2p-listen") || dev,
				P2PExternal: fl.Changed("p2p-external"), RPCListen: fl.Changed("rpc-listen") || dev,
				DBName: fl.Changed("db-name") || dev,
			}
			return runPortal(cmd, c)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Home, "home", portal.DefaultHome, "state directory of the portal's node (CometBFT config and data, the ledger's state)")
	f.StringVar(&c.GenesisPath, "genesis", "", "the chain's genesis.json, required on a first start (a devnet's is "+devnet.GenesisFile("var/devnet")+")")
	f.StringVar(&peers, "peers", "", "validators to follow, comma-separated nodeid@host:port; required on a first start")
	f.StringVar(&c.FromDevnet, "from-devnet", "", "follow the devnet in this directory: its genesis, validators and ports")
	f.StringVar(&c.P2PListen, "p2p-listen", portal.DefaultP2PListen, "P2P listen address of the node")
	f.StringVar(&c.P2PExternal, "p2p-external", "", "host:port the node advertises to peers (when listening on 0.0.0.0)")
	f.StringVar(&c.RPCListen, "rpc-listen", portal.DefaultRPCListen, "CometBFT RPC listen address of the node (the reconcile and query commands use it); empty: none")
	f.StringVar(&c.Moniker, "moniker", c.Moniker, "the node's name, shown to its peers")
	f.BoolVar(&c.NoNode, "no-node", false, "run no node: the sync follows --node-rpc")
	f.StringVar(&c.NodeRPC, "node-rpc", "", "with --no-node: CometBFT RPC address of the node to follow")
	f.BoolVar(&c.NoSync, "no-sync", false, "run only the node: no database, no sync, no rules")
	f.Int64Var(&c.HistoryBlocks, "history-blocks", 0, fmt.Sprintf("past heights the node's ledger answers queries at, its undo log on disk (0: %d, about a day; -1: none)", ledger.DefaultHistoryBlocks))
	f.Int64Var(&c.RetainBlocks, "retain-blocks", 0, "blocks the node keeps behind its tip once the sync has written them to PostgreSQL (0: every block)")
	addFollowFlags(cmd, &c)
	addWebFlags(cmd, &c.HTTPListen, &c.TLS)
	return cmd
}

// addFollowFlags registers the flags of the sync and the rules, shared by portal and sync.
func addFollowFlags(cmd *cobra.Command, c *portal.Config) {
	f := cmd.Flags()
	f.BoolVar(&c.Rules, "rules", true, "evaluate the compliance rules behind the sync")
	f.Int64Var(&c.LogEvery, "log-every", ledgersync.DefaultLogEvery, "log sync progress every this many blocks")
	f.DurationVar(&c.ReportEvery, "report-every", 5*time.Second, "how often to print the node's and the sync's progress")
	addDBFlags(cmd, &c.DB)
}

// runPortal runs the portal until Ctrl-C or SIGTERM, printing to the command's output.
func runPortal(cmd *cobra.Command, c portal.Config) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return portal.Run(ctx, cmd.OutOrStdout(), c, cmdLogger(cmd))
}

// cmdLogger logs at info to the command's error output.
func cmdLogger(cmd *cobra.Command) *slog.Logger {
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
