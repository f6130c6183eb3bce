package node

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
)

// ABCIConcurrency selects how CometBFT serialises its calls into the application.
type ABCIConcurrency string

const (
	// ABCISerial puts every ABCI call (consensus, mempool, query) behind one mutex. It is
	// safe for any application but CheckTx then waits for FinalizeBlock and Commit.
	ABCISerial ABCIConcurrency = "serial"
	// ABCIPerConnection keeps one mutex per ABCI connection, so CheckTx and Query run
	// while a block executes. The application must guard state shared by connections.
	ABCIPerConnection ABCIConcurrency = "connection"
	// ABCIConsensusOnly serialises only the consensus connection; CheckTx calls may run
	// concurrently with each other and with the block. The application must be fully
	// safe for concurrent use outside the consensus connection.
	ABCIConsensusOnly ABCIConcurrency = "consensus"
)

// Config is everything Start needs to run one node. Begin from DefaultConfig: its
// values were measured on the project's 2-core machine, and a zero field means zero.
type Config struct {
	// Home is the CometBFT home directory: config/, data/, genesis and keys.
	Home string
	// Moniker is the node's human-readable name, shown to its peers.
	Moniker string
	// Validator makes the node sign with the key in Home. A full node (false) never
	// loads a signing key, so a copied validator home cannot double-sign as a portal.
	Validator bool

	// P2PListen is the peer-to-peer listen address, e.g. "tcp://127.0.0.1:26656".
	P2PListen string
	// P2PExternal is the host:port advertised to peers and returned by P2PAddress;
	// empty means P2PListen, which must then not be 0.0.0.0.
	P2PExternal string
	// PersistentPeers are "nodeid@host:port" addresses kept connected. When any are
	// given, peer exchange (PEX) is off: a consortium network is closed.
	PersistentPeers []string
	// RPCListen is the CometBFT RPC listen address; empty disables the RPC server.
	RPCListen string

	// DBBackend is the cometbft-db backend of the block and state stores.
	DBBackend string
	// TxIndexer is CometBFT's transaction indexer, "null" or "kv". PostgreSQL is the
	// query store, and the kv indexer costs a third of the throughput.
	TxIndexer string

	// TimeoutPropose is how long validators wait for a proposal before prevoting nil.
	TimeoutPropose time.Duration
	// TimeoutCommit is the pause after a commit that gathers late precommits and
	// transactions for the next block; with BlockMaxBytes it bounds throughput.
	TimeoutCommit time.Duration
	// CreateEmptyBlocks keeps the chain ticking without transactions, so block time
	// advances and deadline-based settlement expiry happens on an idle chain.
	CreateEmptyBlocks bool
	// CreateEmptyBlocksInterval is the longest gap between empty blocks; 0 makes one
	// every TimeoutCommit.
	CreateEmptyBlocksInterval time.Duration

	// MempoolSize is the most transactions the mempool holds.
	MempoolSize int
	// MempoolMaxTxsBytes is the most bytes of transactions the mempool holds.
	MempoolMaxTxsBytes int64
	// MempoolMaxTxBytes is the largest single transaction the mempool accepts.
	MempoolMaxTxBytes int
	// MempoolCacheSize is how many recently seen transactions are remembered, so a
	// gossiped duplicate is dropped before reaching CheckTx; 0 keeps none.
	MempoolCacheSize int
	// MempoolRecheck re-runs CheckTx (type Recheck) on the transactions left in the
	// mempool after every block, evicting those the block made invalid.
	MempoolRecheck bool

	// P2PSendRate caps what each peer connection sends, in bytes per second. The
	// CometBFT default of 5 MB/s throttles block sync to a third of what it can do.
	P2PSendRate int64
	// P2PRecvRate caps what each peer connection receives, like P2PSendRate.
	P2PRecvRate int64
	// PeerRedialMax caps the back-off between redials of a lost persistent peer, so a
	// restarted validator is reconnected within seconds rather than minutes.
	PeerRedialMax time.Duration

	// ABCIConcurrency selects how ABCI calls are serialised; see its constants.
	ABCIConcurrency ABCIConcurrency

	// Logger receives CometBFT's log records (nil means slog.Default()).
	Logger *slog.Logger
	// LogLevel drops CometBFT records below it; CometBFT is chatty at info.
	LogLevel slog.Level

	// Tune, if set, edits the CometBFT configuration after every field above has been
	// applied: an escape hatch for settings this struct does not name.
	Tune func(*cmtcfg.Config)
}

// Defaults measured on the project's 2-core machine with an embedded CometBFT v1.0.1.
const (
	// DefaultBlockMaxBytes is the consensus block size limit written into genesis: with
	// 200-byte transactions the default 4 MiB capped one validator at 19k tx/s.
	DefaultBlockMaxBytes = 20 << 20
	// DefaultP2PRate is the per-connection send and receive rate.
	DefaultP2PRate = 50 << 20
)

// DefaultConfig returns the tuned configuration for a node in home.
func DefaultConfig(home, moniker string) Config {
	return Config{
		Home:                      home,
		Moniker:                   moniker,
		P2PListen:                 "tcp://127.0.0.1:26656",
		DBBackend:                 "goleveldb",
		TxIndexer:                 "null",
		TimeoutPropose:            3 * time.Second,
		TimeoutCommit:             time.Second,
		CreateEmptyBlocks:         true,
		CreateEmptyBlocksInterval: 2 * time.Second,
		MempoolSize:               100_000,
		MempoolMaxTxsBytes:        256 << 20,
		MempoolMaxTxBytes:         4096,
		MempoolCacheSize:          100_000,
		MempoolRecheck:            true,
		P2PSendRate:               DefaultP2PRate,
		P2PRecvRate:               DefaultP2PRate,
		PeerRedialMax:             3 * time.Second,
		ABCIConcurrency:           ABCISerial,
		LogLevel:                  slog.LevelWarn,
	}
}

// FullNodeConfig returns the tuned configuration for a non-validating full node in home. It
// keeps a mempool, since CometBFT v1.0's validators gossip transactions to every peer and
// drop one without the mempool channel, but no cache of seen transactions: pushing every
// committed transaction into it cost a block-syncing node 5% of its CPU, and a duplicate
// that reaches CheckTx is refused there by its nonce once the app's signature cache has it.
func FullNodeConfig(home, moniker string) Config {
	c := DefaultConfig(home, moniker)
	c.Validator = false
	c.MempoolCacheSize = 0
	return c
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	if c.Home == "" {
		return errors.New("node config: home is empty")
	}
	if c.Moniker == "" {
		return errors.New("node config: moniker is empty")
	}
	if err := checkListen("p2p", c.P2PListen, true); err != nil {
		return err
	}
	if err := checkListen("rpc", c.RPCListen, false); err != nil {
		return err
	}
	for _, p := range c.PersistentPeers {
		id, addr, ok := strings.Cut(p, "@")
		if !ok || id == "" || addr == "" {
			return fmt.Errorf("node config: persistent peer %q is not nodeid@host:port", p)
		}
	}
	switch c.TxIndexer {
	case "null", "kv":
	default:
		return fmt.Errorf("node config: tx indexer %q is neither null nor kv", c.TxIndexer)
	}
	switch c.ABCIConcurrency {
	case ABCISerial, ABCIPerConnection, ABCIConsensusOnly:
	default:
		return fmt.Errorf("node config: unknown ABCI concurrency %q", c.ABCIConcurrency)
	}
	if c.MempoolSize <= 0 || c.MempoolMaxTxsBytes <= 0 || c.MempoolMaxTxBytes <= 0 || c.MempoolCacheSize < 0 {
		return errors.New("node config: mempool size, max txs bytes and max tx bytes must be positive, the cache size not negative")
	}
	if c.P2PSendRate <= 0 || c.P2PRecvRate <= 0 {
		return errors.New("node config: p2p send and receive rates must be positive")
	}
	return nil
}

// checkListen rejects an unparsable address, or a port in the kernel's ephemeral range:
// outgoing connections take ports from there, so a listener on one fails at random.
func checkListen(name, addr string, required bool) error {
	if addr == "" {
		if required {
			return fmt.Errorf("node config: %s listen address is empty", name)
		}
		return nil
	}
	hostPort := addr
	if u, err := url.Parse(addr); err == nil && u.Host != "" {
		hostPort = u.Host
	}
	_, portText, err := net.SplitHostPort(hostPort)
	if err != nil {
		return fmt.Errorf("node config: %s listen address %q: %w", name, addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return fmt.Errorf("node config: %s listen address %q: bad port: %w", name, addr, err)
	}
	if lo, hi := ephemeralPorts(); port != 0 && port >= lo && port <= hi {
		return fmt.Errorf("node config: %s port %d is in the kernel's ephemeral range %d-%d, "+
			"where outgoing connections may take it; pick a port below %d", name, port, lo, hi, lo)
	}
	return nil
}

// ephemeralPorts reads the kernel's ephemeral port range, defaulting to Linux's.
func ephemeralPorts() (lo, hi int) {
	lo, hi = 32768, 60999
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lo, hi
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return lo, hi
	}
	l, err1 := strconv.Atoi(f[0])
	h, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return lo, hi
	}
	return l, h
}

// cometConfig renders c as a CometBFT configuration rooted at c.Home.
func (c Config) cometConfig() *cmtcfg.Config {
	cfg := cmtcfg.DefaultConfig()
	cfg.SetRoot(c.Home)
	cfg.Moniker = c.Moniker
	cfg.DBBackend = c.DBBackend
	// The application runs in this process; these two are never used but must not point
	// at a socket that someone reading config.toml would try to start.
	cfg.ProxyApp = ""
	cfg.ABCI = "local"

	cfg.P2P.ListenAddress = c.P2PListen
	cfg.P2P.ExternalAddress = c.P2PExternal
	cfg.P2P.PersistentPeers = strings.Join(c.PersistentPeers, ",")
	cfg.P2P.PexReactor = len(c.PersistentPeers) == 0
	// Devnet peers all live on 127.0.0.1, which strict address books refuse and the
	// duplicate-IP guard would disconnect.
	cfg.P2P.AddrBookStrict = false
	cfg.P2P.AllowDuplicateIP = true
	cfg.P2P.SendRate = c.P2PSendRate
	cfg.P2P.RecvRate = c.P2PRecvRate
	cfg.P2P.PersistentPeersMaxDialPeriod = c.PeerRedialMax

	cfg.RPC.ListenAddress = c.RPCListen
	cfg.GRPC.ListenAddress = ""
	cfg.GRPC.Privileged.ListenAddress = ""

	cfg.Mempool.Size = c.MempoolSize
	cfg.Mempool.MaxTxsBytes = c.MempoolMaxTxsBytes
	cfg.Mempool.MaxTxBytes = c.MempoolMaxTxBytes
	cfg.Mempool.CacheSize = c.MempoolCacheSize
	cfg.Mempool.Recheck = c.MempoolRecheck

	cfg.Consensus.TimeoutPropose = c.TimeoutPropose
	cfg.Consensus.TimeoutCommit = c.TimeoutCommit
	cfg.Consensus.CreateEmptyBlocks = c.CreateEmptyBlocks
	cfg.Consensus.CreateEmptyBlocksInterval = c.CreateEmptyBlocksInterval

	cfg.TxIndex.Indexer = c.TxIndexer
	// ledgersync reads every block's FinalizeBlock response back from the state store.
	cfg.Storage.DiscardABCIResponses = false
	cfg.Instrumentation.Prometheus = false

	if c.Tune != nil {
		c.Tune(cfg)
	}
	return cfg
}
