package portal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ledgerscope/ledgerscope/appdb"
	"github.com/ledgerscope/ledgerscope/devnet"
	"github.com/ledgerscope/ledgerscope/ledgersync"
	"github.com/ledgerscope/ledgerscope/node"
	"github.com/ledgerscope/ledgerscope/server"
)

// Defaults of a portal.
const (
	DefaultHome      = "var/portal"
	DefaultMoniker   = "PORTAL"
	DefaultP2PListen = "tcp://127.0.0.1:26656"
	DefaultRPCListen = "tcp://127.0.0.1:26657"
	// FromDevnetDBName keeps a portal following a devnet out of the database that the
	// devnet's own --sync writes: two workers on one cursor would trip each other's alarms.
	FromDevnetDBName = "ledgerscope_portal"
	// statusTimeout bounds one status read for the progress line.
	statusTimeout = 5 * time.Second
)

// Config is what a portal runs: an embedded full node, the sync worker and the rules behind
// it, or either alone. Its fields are the portal command's flags, whose names its errors use.
type Config struct {
	// Home is the node's state directory; GenesisPath the chain's genesis, required on a
	// first start; Peers the validators to follow, nodeid@host:port.
	Home        string
	Moniker     string
	GenesisPath string
	Peers       []string
	// FromDevnet is the directory of a devnet on this machine to follow (ApplyDevnet).
	FromDevnet  string
	P2PListen   string
	P2PExternal string
	// RPCListen is the node's CometBFT RPC listen address; empty: none.
	RPCListen string

	// NoNode runs no node: the sync follows NodeRPC. NoSync runs only the node.
	NoNode  bool
	NoSync  bool
	NodeRPC string
	// Rules evaluates the compliance rules behind the sync.
	Rules bool
	// HistoryBlocks is how many past heights the node's ledger answers queries at (its undo
	// log on disk); 0 is ledger.DefaultHistoryBlocks, a negative value keeps none.
	HistoryBlocks int64
	// HTTPListen is where the web tier serves the pages and the API; empty: no web tier.
	HTTPListen string
	// TLS says the pages are reached over HTTPS (through a proxy): cookies are Secure.
	TLS bool
	// RetainBlocks is how many blocks the node keeps behind its tip once the sync has written
	// them to PostgreSQL; 0 keeps every block.
	RetainBlocks int64
	DB           appdb.Config
	// LogEvery logs the sync's progress every this many blocks.
	LogEvery int64
	// ReportEvery is how often Run prints the progress line.
	ReportEvery time.Duration

	// FreshDB drops the database before opening it (never one named by DATABASE_URL): a new
	// chain must not meet an old one's rows, which the sync would refuse.
	FreshDB bool
	// Given says which node settings this start gave; the others come from portal.json.
	Given Given

	// source, with NoNode, is followed instead of NodeRPC: an in-process chain, for tests.
	source node.BlockSource
}

// Given marks the node settings given on this start, by flags or by --from-devnet; those not
// given are the ones the last start recorded in the home's portal.json.
type Given struct {
	Peers, P2PListen, P2PExternal, RPCListen, DBName bool
}

// Check rejects combinations of settings that cannot work, before anything starts.
func (c Config) Check() error {
	switch {
	case c.NoNode && c.NoSync:
		return errors.New("--no-node and --no-sync leave nothing to run")
	case c.NoNode && c.NodeRPC == "" && c.source == nil:
		return errors.New("--no-node needs --node-rpc, the node to follow (e.g. http://127.0.0.1:26657)")
	case !c.NoNode && c.NodeRPC != "":
		return errors.New("--node-rpc is for --no-node; the portal's own node is followed otherwise")
	case c.NoNode && c.FromDevnet != "":
		return errors.New("--from-devnet starts a node; with --no-node give --node-rpc alone")
	case c.ReportEvery <= 0:
		return errors.New("--report-every must be positive")
	case c.RetainBlocks < 0:
		return errors.New("--retain-blocks must be 0 (keep every block) or positive")
	case c.RetainBlocks > 0 && (c.NoNode || c.NoSync):
		return errors.New("--retain-blocks prunes the node's blocks once synced: it needs both the node and the sync")
	}
	return nil
}

// ApplyDevnet takes the genesis, the peers and, unless given, the ports and database name
// from the devnet in c.FromDevnet.
func (c *Config) ApplyDevnet(p2pGiven, rpcGiven, dbGiven bool) error {
	meta, err := devnet.Load(c.FromDevnet)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("--from-devnet %s: no devnet there (start one with make run): %w", c.FromDevnet, err)
	}
	if err != nil {
		return fmt.Errorf("--from-devnet: %w", err)
	}
	if c.GenesisPath == "" {
		c.GenesisPath = devnet.GenesisFile(c.FromDevnet)
	}
	if len(c.Peers) == 0 {
		c.Peers = meta.Peers()
	}
	// Slot Validators+1 is the devnet's own portal node (devnet --sync); the next is free.
	port := meta.P2PPort(meta.Validators + 2)
	if !p2pGiven {
		c.P2PListen = fmt.Sprintf("tcp://127.0.0.1:%d", port)
	}
	if !rpcGiven {
		c.RPCListen = fmt.Sprintf("tcp://127.0.0.1:%d", port+1)
	}
	if !dbGiven {
		c.DB.Name = FromDevnetDBName
	}
	// A devnet is thrown away and made afresh (make clean), and the portal's home with it:
	// a new home starts on a fresh database, as devnet --sync does for a new chain.
	if _, err := os.Stat(filepath.Join(c.Home, "config", "genesis.json")); errors.Is(err, os.ErrNotExist) {
		c.FreshDB = true
	}
	return nil
}

// ForDevnet is the portal that devnet --sync runs beside the validators: the same full node,
// sync and rules as the portal command, in the devnet's home and its first port slot after
// the validators, on a fresh database when the chain is new.
func ForDevnet(net *devnet.Net, home string, db appdb.Config, every time.Duration) Config {
	return Config{
		Home:        filepath.Join(home, "portal"),
		Moniker:     DefaultMoniker,
		GenesisPath: devnet.GenesisFile(home),
		Peers:       net.Meta.Peers(),
		P2PListen:   fmt.Sprintf("tcp://127.0.0.1:%d", net.Meta.P2PPort(net.Meta.Validators+1)),
		Given:       Given{Peers: true, P2PListen: true, P2PExternal: true, RPCListen: true, DBName: true},
		Rules:       true,
		DB:          db,
		LogEvery:    ledgersync.DefaultLogEvery,
		ReportEvery: every,
		FreshDB:     net.Fresh,
		HTTPListen:  server.DefaultListen,
	}
}
