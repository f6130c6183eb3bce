package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cometbft/cometbft/types"
	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/compliance"
	"github.com/ledgerscope/ledgerscope/devnet"
	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/ledgersync"
	"github.com/ledgerscope/ledgerscope/node"
)

// Defaults of the portal command.
const (
	defaultPortalHome = "var/portal"
	defaultP2PListen  = "tcp://127.0.0.1:26656"
	defaultRPCListen  = "tcp://127.0.0.1:26657"
	// fromDevnetDBName keeps a portal following a devnet out of the database that the
	// devnet's own --sync writes: two workers on one cursor would trip each other's alarms.
	fromDevnetDBName = "ledgerscope_portal"
	// portalStateFile records, in the portal's home, how its node was started, so that a
	// restart with --home alone resumes it.
	portalStateFile = "portal.json"
	// statusTimeout bounds one status read for the progress line.
	statusTimeout = 5 * time.Second
)

// portalConfig is what the portal command runs: an embedded full node, the sync worker and the
// rules behind it, or either alone. The sync and devnet --sync commands run through it too.
type portalConfig struct {
	home        string
	moniker     string
	genesisPath string
	peers       []string
	fromDevnet  string
	p2pListen   string
	p2pExternal string
	rpcListen   string

	noNode   bool
	noSync   bool
	nodeRPC  string
	rules    bool
	db       dbConfig
	logEvery int64
	every    time.Duration

	// freshDB drops the database before opening it (never one named by DATABASE_URL): a new
	// chain must not meet an old one's rows, which the sync would refuse.
	freshDB bool
	// given says which node settings this start gave; the others come from portal.json.
	given givenSettings
}

// givenSettings marks the node settings given on this start, by flags or by --from-devnet.
type givenSettings struct {
	peers, p2pListen, p2pExternal, rpcListen, dbName bool
}

// portalState is portal.json: the node's start-up settings, recorded on every start.
type portalState struct {
	Peers       []string `json:"peers"`
	P2PListen   string   `json:"p2p_listen"`
	P2PExternal string   `json:"p2p_external,omitempty"`
	RPCListen   string   `json:"rpc_listen,omitempty"`
	// DBName is the database the sync writes on a found or private server: a home and its
	// database go together, since the cursor there counts this node's blocks.
	DBName string `json:"db_name,omitempty"`
}

func newPortalCmd() *cobra.Command {
	c := portalConfig{moniker: "PORTAL", rules: true}
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
and listen addresses in <home>/portal.json; later starts with --home alone resume.

--no-sync runs only the node. --no-node --node-rpc URL runs only the sync, following a remote
node (as the sync command does).

--from-devnet DIR follows a devnet running on this machine (make run): the genesis and the
validators' addresses come from DIR, the node listens on the devnet's next free port slot
unless --p2p-listen and --rpc-listen say otherwise, and the database is ` + fromDevnetDBName + `
unless --db-name says otherwise (the devnet's --sync writes ledgerscope). A new home following a
devnet starts with a fresh database.

It prints the node's id and addresses, the database and the chain id, then every
--report-every the node's height, peers, whether it is catching up, the synced height and the
lag. Stop it with Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if peers != "" {
				c.peers = splitList(peers)
			}
			if err := c.check(); err != nil {
				return err
			}
			fl := cmd.Flags()
			if c.fromDevnet != "" {
				if err := c.applyDevnet(fl.Changed("p2p-listen"), fl.Changed("rpc-listen"), fl.Changed("db-name")); err != nil {
					return err
				}
			}
			// Settings not given on this start are those recorded by the last one.
			dev := c.fromDevnet != ""
			c.given = givenSettings{
				peers: peers != "" || dev, p2pListen: fl.Changed("p2p-listen") || dev,
				p2pExternal: fl.Changed("p2p-external"), rpcListen: fl.Changed("rpc-listen") || dev,
				dbName: fl.Changed("db-name") || dev,
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runPortal(ctx, cmd.OutOrStdout(), c, cmdLogger(cmd))
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.home, "home", defaultPortalHome, "state directory of the portal's node (CometBFT config and data, the ledger's state)")
	f.StringVar(&c.genesisPath, "genesis", "", "the chain's genesis.json, required on a first start (a devnet's is "+devnet.GenesisFile("var/devnet")+")")
	f.StringVar(&peers, "peers", "", "validators to follow, comma-separated nodeid@host:port; required on a first start")
	f.StringVar(&c.fromDevnet, "from-devnet", "", "follow the devnet in this directory: its genesis, validators and ports")
	f.StringVar(&c.p2pListen, "p2p-listen", defaultP2PListen, "P2P listen address of the node")
	f.StringVar(&c.p2pExternal, "p2p-external", "", "host:port the node advertises to peers (when listening on 0.0.0.0)")
	f.StringVar(&c.rpcListen, "rpc-listen", defaultRPCListen, "CometBFT RPC listen address of the node (the reconcile and query commands use it); empty: none")
	f.StringVar(&c.moniker, "moniker", c.moniker, "the node's name, shown to its peers")
	f.BoolVar(&c.noNode, "no-node", false, "run no node: the sync follows --node-rpc")
	f.StringVar(&c.nodeRPC, "node-rpc", "", "with --no-node: CometBFT RPC address of the node to follow")
	f.BoolVar(&c.noSync, "no-sync", false, "run only the node: no database, no sync, no rules")
	addFollowFlags(cmd, &c)
	return cmd
}

// addFollowFlags registers the flags of the sync and the rules, shared by portal and sync.
func addFollowFlags(cmd *cobra.Command, c *portalConfig) {
	f := cmd.Flags()
	f.BoolVar(&c.rules, "rules", true, "evaluate the compliance rules behind the sync")
	f.Int64Var(&c.logEvery, "log-every", ledgersync.DefaultLogEvery, "log sync progress every this many blocks")
	f.DurationVar(&c.every, "report-every", 5*time.Second, "how often to print the node's and the sync's progress")
	addDBFlags(cmd, &c.db)
}

// applyDevnet takes the genesis, the peers and, unless given, the ports and database name
// from the devnet in c.fromDevnet.
func (c *portalConfig) applyDevnet(p2pGiven, rpcGiven, dbGiven bool) error {
	meta, err := devnet.Load(c.fromDevnet)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("--from-devnet %s: no devnet there (start one with make run): %w", c.fromDevnet, err)
	}
	if err != nil {
		return fmt.Errorf("--from-devnet: %w", err)
	}
	if c.genesisPath == "" {
		c.genesisPath = devnet.GenesisFile(c.fromDevnet)
	}
	if len(c.peers) == 0 {
		c.peers = meta.Peers()
	}
	// Slot Validators+1 is the devnet's own portal node (devnet --sync); the next is free.
	port := meta.P2PPort(meta.Validators + 2)
	if !p2pGiven {
		c.p2pListen = fmt.Sprintf("tcp://127.0.0.1:%d", port)
	}
	if !rpcGiven {
		c.rpcListen = fmt.Sprintf("tcp://127.0.0.1:%d", port+1)
	}
	if !dbGiven {
		c.db.Name = fromDevnetDBName
	}
	// A devnet is thrown away and made afresh (make clean), and the portal's home with it:
	// a new home starts on a fresh database, as devnet --sync does for a new chain.
	if _, err := os.Stat(filepath.Join(c.home, "config", "genesis.json")); errors.Is(err, os.ErrNotExist) {
		c.freshDB = true
	}
	return nil
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

// runPortal starts the portal, prints what an operator needs and its progress until ctx ends
// or a part halts, then stops it cleanly.
func runPortal(ctx context.Context, out io.Writer, c portalConfig, log *slog.Logger) (err error) {
	p, err := startPortal(ctx, c, log)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, p.Close()) }()
	p.describe(out)
	ticker := time.NewTicker(c.every)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(out, "portal stopping")
			return nil
		case <-p.Failed():
			return p.Err()
		case now := <-ticker.C:
			fmt.Fprintf(out, "%s %s\n", now.Format("15:04:05"), p.progress(ctx))
		}
	}
}

// portal is a running full node, sync worker and rules runner, or the parts of it that run.
type portal struct {
	cfg     portalConfig
	log     *slog.Logger
	chainID string
	genesis string // where the genesis came from, for people

	app     *ledger.App      // nil without a node
	node    *node.Node       // nil without a node
	src     node.BlockSource // the embedded node, or the remote one
	resumed int64            // the height the node's home held at start; 0 on a first start
	db      *database        // nil without the sync
	// watchlist says what became of the devnet's demo watch list (--from-devnet), for people.
	watchlist string
	worker    *ledgersync.Worker

	stop      context.CancelFunc // ends the worker and the rules
	wg        sync.WaitGroup
	failOnce  sync.Once
	failed    chan struct{}
	failErr   error
	closeOnce sync.Once
	closeErr  error
}

// startPortal starts the parts c asks for. On error, whatever it started is stopped again.
func startPortal(ctx context.Context, c portalConfig, log *slog.Logger) (*portal, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	p := &portal{cfg: c, log: log, stop: cancel, failed: make(chan struct{})}
	if err := p.start(ctx, wctx); err != nil {
		return nil, errors.Join(err, p.Close())
	}
	return p, nil
}

// start starts the node, unless there is none, then the sync and the rules on wctx.
func (p *portal) start(ctx, wctx context.Context) error {
	doc, err := p.loadGenesis(ctx)
	if err != nil {
		return err
	}
	p.chainID = doc.ChainID
	if p.cfg.noNode {
		src, err := node.NewRPCSource(node.RPCSourceConfig{Remote: p.cfg.nodeRPC})
		if err != nil {
			return err
		}
		p.src = src
	} else {
		if err := p.startNode(ctx, doc); err != nil {
			return err
		}
		p.src = p.node
		p.watchNode(wctx)
	}
	if p.cfg.noSync {
		return nil
	}
	return p.startSync(wctx, doc)
}

// check rejects combinations of flags that cannot work, before anything starts.
func (c portalConfig) check() error {
	switch {
	case c.noNode && c.noSync:
		return errorf("--no-node and --no-sync leave nothing to run")
	case c.noNode && c.nodeRPC == "":
		return errorf("--no-node needs --node-rpc, the node to follow (e.g. http://127.0.0.1:26657)")
	case !c.noNode && c.nodeRPC != "":
		return errorf("--node-rpc is for --no-node; the portal's own node is followed otherwise")
	case c.noNode && c.fromDevnet != "":
		return errorf("--from-devnet starts a node; with --no-node give --node-rpc alone")
	case c.every <= 0:
		return errorf("--report-every must be positive")
	}
	return nil
}

// loadGenesis finds the chain's genesis: a file, the one a node home already holds, or,
// following a remote node, the node's.
func (p *portal) loadGenesis(ctx context.Context) (*types.GenesisDoc, error) {
	c := p.cfg
	switch {
	case c.genesisPath != "":
		p.genesis = c.genesisPath
		return loadGenesisDoc(ctx, c.genesisPath, "")
	case c.noNode:
		p.genesis = "fetched from " + c.nodeRPC
		return loadGenesisDoc(ctx, "", c.nodeRPC)
	}
	path := filepath.Join(c.home, "config", "genesis.json")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s holds no node yet: give --genesis (and --peers), or --from-devnet: %w", c.home, err)
	}
	p.genesis = path
	return loadGenesisDoc(ctx, path, "")
}

// startNode initialises the home on a first start and starts the full node with the ledger app.
func (p *portal) startNode(ctx context.Context, doc *types.GenesisDoc) error {
	c := &p.cfg
	if err := c.resume(); err != nil {
		return err
	}
	if len(c.peers) == 0 {
		return fmt.Errorf("no peers to follow: give --peers nodeid@host:port,... or --from-devnet")
	}
	cfg := node.FullNodeConfig(c.home, c.moniker)
	cfg.P2PListen = c.p2pListen
	cfg.P2PExternal = c.p2pExternal
	cfg.RPCListen = c.rpcListen
	cfg.PersistentPeers = c.peers
	// The ledger app guards its own state, so CheckTx calls may run at once and while a
	// block executes; and its CheckTx keeps nonce bookkeeping across blocks, so rechecking
	// the mempool after every block buys nothing but CPU. The node keeps a mempool although
	// it never originates transactions: CometBFT v1.0's validators gossip transactions to
	// every peer, and a peer without the mempool channel drops the connection on the first.
	cfg.ABCIConcurrency = node.ABCIConsensusOnly
	cfg.MempoolRecheck = false
	cfg.Logger = p.log
	if err := node.InitHome(cfg, doc, node.Keys{}); err != nil {
		return fmt.Errorf("portal home %s (a home follows one chain; use another --home for another): %w", c.home, err)
	}
	st := portalState{Peers: c.peers, P2PListen: c.p2pListen, P2PExternal: c.p2pExternal, RPCListen: c.rpcListen, DBName: c.db.Name}
	if err := writePortalState(c.home, st); err != nil {
		return err
	}
	app, err := ledger.NewApp(ledger.Config{Dir: filepath.Join(c.home, "data", "ledger"), Logger: p.log.With("node", c.moniker)})
	if err != nil {
		return fmt.Errorf("portal ledger: %w", err)
	}
	p.resumed = app.Height()
	nd, err := node.Start(ctx, cfg, app)
	if err != nil {
		return errors.Join(fmt.Errorf("portal node: %w", err), app.Close())
	}
	p.app, p.node = app, nd
	return nil
}

// resume fills the settings this start did not give from portal.json.
func (c *portalConfig) resume() error {
	st, err := readPortalState(c.home)
	if err != nil || st == nil {
		return err
	}
	if !c.given.peers {
		c.peers = st.Peers
	}
	if !c.given.p2pListen {
		c.p2pListen = st.P2PListen
	}
	if !c.given.p2pExternal {
		c.p2pExternal = st.P2PExternal
	}
	if !c.given.rpcListen {
		c.rpcListen = st.RPCListen
	}
	if !c.given.dbName && st.DBName != "" {
		c.db.Name = st.DBName
	}
	return nil
}

// readPortalState reads portal.json; nil, nil means the home has none (a first start).
func readPortalState(home string) (*portalState, error) {
	path := filepath.Join(home, portalStateFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("portal state: %w", err)
	}
	var st portalState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("portal state %s: %w", path, err)
	}
	return &st, nil
}

// writePortalState records how the node started, for the next start to resume.
func writePortalState(home string, st portalState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("portal state: %w", err)
	}
	path := filepath.Join(home, portalStateFile)
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("portal state: %w", err)
	}
	return nil
}

// watchNode raises the portal's failure when its node halts on its own: a node that
// disagrees with the chain must stop the portal loudly, not leave it serving stale data.
func (p *portal) watchNode(ctx context.Context) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		select {
		case <-p.node.Done():
			if err := p.node.Err(); err != nil {
				p.fail(fmt.Errorf("portal node halted: %w", err))
			}
		case <-ctx.Done():
		}
	}()
}

// startSync opens the database and starts the sync worker on p.src and the rules behind it.
func (p *portal) startSync(ctx context.Context, doc *types.GenesisDoc) error {
	g, err := ledgersync.GenesisFromDoc(doc)
	if err != nil {
		return err
	}
	d, err := openDatabaseAfresh(ctx, p.cfg.db, p.log, true, p.cfg.freshDB)
	if err != nil {
		return err
	}
	p.db = d
	if err := p.uploadDevnetWatchlist(ctx); err != nil {
		return err
	}
	w, err := ledgersync.New(ledgersync.Config{Source: p.src, DB: d.DB, Genesis: g, LogEvery: p.cfg.logEvery, Logger: p.log.With("component", "ledgersync")})
	if err != nil {
		return err
	}
	p.worker = w
	var rules *compliance.Runner
	if p.cfg.rules {
		if rules, err = compliance.NewRunner(compliance.RunnerConfig{DB: d.DB, Logger: p.log.With("component", "compliance")}); err != nil {
			return err
		}
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		// Run returns an error only on an alarm (a divergent block, another chain); it
		// retries everything else by itself.
		if err := w.Run(ctx); err != nil {
			p.fail(fmt.Errorf("ledgersync: %w", err))
		}
	}()
	if rules != nil {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			if err := rules.Run(ctx); err != nil && ctx.Err() == nil {
				p.fail(fmt.Errorf("compliance rules: %w", err))
			}
		}()
	}
	return nil
}

// fail records the first reason the portal cannot go on and closes Failed.
func (p *portal) fail(err error) {
	p.failOnce.Do(func() {
		p.failErr = err
		p.log.Error("portal halted", "err", err)
		close(p.failed)
	})
}

// Failed is closed when a part of the portal halted on its own; Err says why.
func (p *portal) Failed() <-chan struct{} { return p.failed }

// Err is why the portal halted, once Failed is closed.
func (p *portal) Err() error {
	select {
	case <-p.failed:
		return p.failErr
	default:
		return nil
	}
}

// Close stops the worker and the rules, then the node (the worker reads from it), then the
// database. A node that halted has already reported why through Err.
func (p *portal) Close() error {
	p.closeOnce.Do(func() {
		p.stop()
		p.wg.Wait()
		var errs []error
		if p.node != nil {
			if err := p.node.Stop(); err != nil && p.node.Err() == nil {
				errs = append(errs, err)
			}
		}
		if p.app != nil {
			errs = append(errs, p.app.Close())
		}
		if p.db != nil {
			p.db.Close()
		}
		p.closeErr = errors.Join(errs...)
	})
	return p.closeErr
}

// describe prints what an operator needs to know of the running portal.
func (p *portal) describe(out io.Writer) {
	line := func(label, format string, a ...any) {
		fmt.Fprintf(out, "  %-14s %s\n", label, fmt.Sprintf(format, a...))
	}
	fmt.Fprintf(out, "portal on chain %s\n", p.chainID)
	line("genesis", "%s", p.genesis)
	if p.node != nil {
		if p.resumed > 0 {
			line("home", "%s (resumed at height %d)", p.cfg.home, p.resumed)
		} else {
			line("home", "%s (first start)", p.cfg.home)
		}
		line("node id", "%s", p.node.NodeID())
		line("P2P", "%s", p.node.P2PAddress())
		if p.cfg.rpcListen != "" {
			line("CometBFT RPC", "%s", rpcURL(p.cfg.rpcListen))
		}
		line("peers", "%s", strings.Join(p.cfg.peers, ","))
	} else {
		line("following", "%s", p.cfg.nodeRPC)
	}
	if p.db != nil {
		line("PostgreSQL", "%s", redactURL(p.db.URL()))
		rules := "off"
		if p.cfg.rules {
			rules = "evaluated behind the sync"
		}
		line("rules", "%s", rules)
		if p.watchlist != "" {
			line("watch list", "%s", p.watchlist)
		}
	}
}

// uploadDevnetWatchlist gives a portal following a devnet the devnet's demo watch list, as
// devnet --sync gives its own database, so that its rules flag the load generator's WATCH
// scenario too. A regulator's portal uploads its list with rules watchlist upload.
func (p *portal) uploadDevnetWatchlist(ctx context.Context) error {
	if p.cfg.fromDevnet == "" || !p.cfg.rules {
		return nil
	}
	path := filepath.Join(p.cfg.fromDevnet, "watchlist.csv")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	v, n, saved, err := uploadDevnetWatchlist(ctx, p.db.DB, path)
	if err != nil {
		return err
	}
	p.watchlist = uploadSaid(path, v, n, saved)
	return nil
}

// rpcURL turns a listen address ("tcp://127.0.0.1:26657") into the URL clients dial.
func rpcURL(listen string) string {
	if rest, ok := strings.CutPrefix(listen, "tcp://"); ok {
		return "http://" + rest
	}
	return listen
}

// redactURL hides a password in a database URL: the banner is no place for secrets.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unprintable database URL)"
	}
	return u.Redacted()
}

// progress is one line of the node's and the sync's state.
func (p *portal) progress(ctx context.Context) string {
	var b strings.Builder
	sctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	st, err := p.src.Status(sctx)
	if err != nil {
		fmt.Fprintf(&b, "node status: %v", err)
	} else {
		fmt.Fprintf(&b, "node height %d, peers %d", st.LatestHeight, len(st.Peers))
		if st.CatchingUp {
			b.WriteString(", catching up")
		}
	}
	if p.worker != nil {
		m := p.worker.Metrics()
		fmt.Fprintf(&b, "; synced %d, lag %d (%.1fs), %.0f rows/s", m.SyncedHeight, m.LagHeights, m.LagSeconds, m.RowsPerSecond)
		if m.DeferredIndexes > 0 {
			fmt.Fprintf(&b, "; initial load, %d indexes, keys and rebuilds set aside until caught up (queries slow, rules waiting)", m.DeferredIndexes)
		}
		if m.LastError != "" && time.Since(m.LastErrorAt) < 2*p.cfg.every {
			fmt.Fprintf(&b, "; last error: %s", m.LastError)
		}
		if m.Halted {
			b.WriteString("; SYNC HALTED: " + m.HaltReason)
		}
	}
	return b.String()
}
