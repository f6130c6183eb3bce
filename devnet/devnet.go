// Package devnet runs a whole consortium on one machine: validators of the regional
// exchanges, each an embedded CometBFT node with its own ledger app, on 127.0.0.1 ports, plus
// any number of non-validating full nodes that follow them. The demo, the tests and the
// benchmarks all start the ledger through it.
package devnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/types"

	"github.com/ledgerscope/ledgerscope/keyring"
	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/node"
)

// DefaultChainID is the devnet's chain id.
const DefaultChainID = "ledgerscope-devnet"

// Options describe a devnet.
type Options struct {
	// Home holds one directory per node, the demo keys (keys/) and devnet.json.
	Home string
	// Validators is how many exchanges run validators (at most len(ledger.DemoExchanges)).
	Validators int
	// Seed derives every demo key; the load generator must use the same one.
	Seed string
	// ChainID names the chain.
	ChainID string
	// BasePort is validator 0's P2P port; validator i listens on BasePort+10*i, and
	// validator 0 serves CometBFT RPC on BasePort+1.
	BasePort int
	// Logger receives the nodes' and apps' logs.
	Logger *slog.Logger
	// Tune adjusts each node's configuration before it starts (tests shorten timeouts).
	Tune func(*node.Config)
	// CheckInvariants makes every app verify the state invariants after each block.
	CheckInvariants bool
}

// DefaultOptions are the demo's: four validators under var/devnet, RPC on 26657.
func DefaultOptions() Options {
	return Options{Home: "var/devnet", Validators: 4, Seed: "devnet", ChainID: DefaultChainID, BasePort: 26656}
}

// Meta is what devnet.json records, so a restarted devnet comes back as it was.
type Meta struct {
	ChainID    string    `json:"chain_id"`
	Seed       string    `json:"seed"`
	Validators int       `json:"validators"`
	BasePort   int       `json:"base_port"`
	Genesis    time.Time `json:"genesis_time"`
}

// Net is a running devnet.
type Net struct {
	opts    Options
	Meta    Meta
	Members []*Member
	// Fresh is true when this start created the devnet: a new chain.
	Fresh bool
	// sigs is shared by the apps: each tx gossiped to every node is verified once.
	sigs *ledger.SigCache
}

// Member is one running node with its app.
type Member struct {
	Name      string
	Validator bool
	Config    node.Config
	App       *ledger.App
	Node      *node.Node
}

// RPC is validator 0's CometBFT RPC address.
func (n *Net) RPC() string { return fmt.Sprintf("http://127.0.0.1:%d", n.Meta.BasePort+1) }

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Home == "" {
		o.Home = d.Home
	}
	if o.Validators == 0 {
		o.Validators = d.Validators
	}
	if o.Seed == "" {
		o.Seed = d.Seed
	}
	if o.ChainID == "" {
		o.ChainID = d.ChainID
	}
	if o.BasePort == 0 {
		o.BasePort = d.BasePort
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Start starts the devnet in opts.Home, creating it on first use. A devnet created with other
// options keeps its recorded ones: its chain cannot change under it.
func Start(ctx context.Context, opts Options) (*Net, error) {
	opts = opts.withDefaults()
	if opts.Validators < 1 || opts.Validators > len(ledger.DemoExchanges) {
		return nil, fmt.Errorf("devnet: %d validators, want 1 to %d", opts.Validators, len(ledger.DemoExchanges))
	}
	meta, fresh, err := prepare(opts)
	if err != nil {
		return nil, err
	}
	net := &Net{opts: opts, Meta: meta, Fresh: fresh, sigs: ledger.NewSigCache(1 << 18)}
	for i := range meta.Validators {
		if _, err := net.start(ctx, ledger.DemoExchanges[i], i, true); err != nil {
			net.Stop()
			return nil, err
		}
	}
	return net, nil
}

// Load reads the devnet.json of the devnet in home, for a process that follows the devnet from
// outside it (the portal command's --from-devnet). It fails with an error wrapping
// os.ErrNotExist when home holds no devnet.
func Load(home string) (Meta, error) {
	metaPath := filepath.Join(home, "devnet.json")
	b, err := os.ReadFile(metaPath)
	if err != nil {
		return Meta{}, fmt.Errorf("devnet: %w", err)
	}
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return Meta{}, fmt.Errorf("devnet: %s: %w", metaPath, err)
	}
	return m, nil
}

// GenesisFile is the genesis.json of the devnet in home. Every node's home holds a copy; this
// is validator 0's, which exists from the devnet's first start.
func GenesisFile(home string) string {
	return filepath.Join(nodeHome(home, ledger.DemoExchanges[0]), "config", "genesis.json")
}

// nodeHome is the CometBFT home of the devnet node called name.
func nodeHome(home, name string) string { return filepath.Join(home, strings.ToLower(name)) }

// prepare writes the homes, genesis and demo keys the first time, and reads devnet.json.
func prepare(opts Options) (Meta, bool, error) {
	if m, err := Load(opts.Home); err == nil {
		return m, false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return Meta{}, false, err
	}
	metaPath := filepath.Join(opts.Home, "devnet.json")
	m := Meta{ChainID: opts.ChainID, Seed: opts.Seed, Validators: opts.Validators, BasePort: opts.BasePort,
		Genesis: time.Now().UTC().Truncate(time.Second)}
	if err := os.MkdirAll(opts.Home, 0o700); err != nil {
		return Meta{}, false, fmt.Errorf("devnet: %w", err)
	}
	if err := writeDemoKeys(opts.Home, m.Seed); err != nil {
		return Meta{}, false, err
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(metaPath, append(b, '\n'), 0o600); err != nil {
		return Meta{}, false, fmt.Errorf("devnet: %w", err)
	}
	return m, true, nil
}

// Genesis is the devnet's genesis document, the same for every node.
func (n *Net) Genesis() (*types.GenesisDoc, error) { return n.Meta.genesis() }

// genesis is the devnet's genesis document, the same bytes for every node.
func (m Meta) genesis() (*types.GenesisDoc, error) {
	app, err := json.Marshal(ledger.DemoGenesis(m.Seed))
	if err != nil {
		return nil, err
	}
	var vals []node.GenesisValidator
	for i := range m.Validators {
		vals = append(vals, node.GenesisValidator{
			Name: ledger.DemoExchanges[i], PubKey: validatorKey(m.Seed, i).PubKey(), Power: 10,
		})
	}
	return node.NewGenesis(node.GenesisSpec{ChainID: m.ChainID, Time: m.Genesis, Validators: vals, AppState: app})
}

func validatorKey(seed string, i int) cmted25519.PrivKey {
	return cmted25519.PrivKey(ledger.DemoKey(seed, fmt.Sprintf("validator/%d", i)))
}

func nodeKey(seed, name string) cmted25519.PrivKey {
	return cmted25519.PrivKey(ledger.DemoKey(seed, "node/"+name))
}

// P2PPort is the P2P port of port slot i: validators take slots 0 to Validators-1 and full
// nodes the slots after them; a node serving RPC serves it on the next port.
func (m Meta) P2PPort(slot int) int { return m.BasePort + 10*slot }

// Peers lists every validator's "nodeid@127.0.0.1:port", the persistent peers of a node that
// follows the devnet.
func (m Meta) Peers() []string { return m.peers("") }

// peers lists every validator's "id@host:port" except skip's.
func (m Meta) peers(skip string) []string {
	var out []string
	for i := range m.Validators {
		name := ledger.DemoExchanges[i]
		if name == skip {
			continue
		}
		out = append(out, node.PeerAddress(nodeKey(m.Seed, name), fmt.Sprintf("127.0.0.1:%d", m.P2PPort(i))))
	}
	return out
}

// start writes (if needed) and starts one node with its app. Validator i uses port slot i;
// full nodes use the slots after the validators.
func (n *Net) start(ctx context.Context, name string, slot int, validator bool) (*Member, error) {
	home := nodeHome(n.opts.Home, name)
	var cfg node.Config
	if validator {
		cfg = node.DefaultConfig(home, name)
		cfg.Validator = true
	} else {
		cfg = node.FullNodeConfig(home, name)
	}
	cfg.P2PListen = fmt.Sprintf("tcp://127.0.0.1:%d", n.Meta.P2PPort(slot))
	if slot == 0 {
		cfg.RPCListen = fmt.Sprintf("tcp://127.0.0.1:%d", n.Meta.BasePort+1)
	}
	cfg.PersistentPeers = n.Meta.peers(name)
	// The app guards its own state, so CheckTx calls may run at once, and while a block
	// executes: gossiped transactions are verified on both cores.
	cfg.ABCIConcurrency = node.ABCIConsensusOnly
	// The app's CheckTx keeps its nonce bookkeeping across blocks, so rechecking the whole
	// mempool after every block buys nothing but CPU.
	cfg.MempoolRecheck = false
	cfg.Logger = n.opts.Logger
	if n.opts.Tune != nil {
		n.opts.Tune(&cfg)
	}
	gen, err := n.Meta.genesis()
	if err != nil {
		return nil, fmt.Errorf("devnet genesis: %w", err)
	}
	keys := node.Keys{Node: nodeKey(n.Meta.Seed, name)}
	if validator {
		keys.Validator = validatorKey(n.Meta.Seed, slot)
	}
	if err := node.InitHome(cfg, gen, keys); err != nil {
		return nil, fmt.Errorf("devnet %s: %w", name, err)
	}
	acfg := ledger.Config{
		Dir: filepath.Join(home, "data", "ledger"), Logger: n.opts.Logger.With("node", name),
		CheckInvariants: n.opts.CheckInvariants,
	}
	// A full node keeps its own cache: it is there to check the validators, not to trust them.
	if validator {
		acfg.SigCache = n.sigs
	}
	app, err := ledger.NewApp(acfg)
	if err != nil {
		return nil, fmt.Errorf("devnet %s: %w", name, err)
	}
	nd, err := node.Start(ctx, cfg, app)
	if err != nil {
		app.Close()
		return nil, fmt.Errorf("devnet %s: %w", name, err)
	}
	m := &Member{Name: name, Validator: validator, Config: cfg, App: app, Node: nd}
	n.Members = append(n.Members, m)
	return m, nil
}

// AddFullNode starts a non-validating full node that block-syncs from the validators,
// re-executing every transaction. Slot picks its ports (slots below Validators are taken).
func (n *Net) AddFullNode(ctx context.Context, name string, slot int) (*Member, error) {
	if slot < n.Meta.Validators {
		return nil, fmt.Errorf("devnet: slot %d belongs to a validator", slot)
	}
	return n.start(ctx, name, slot, false)
}

// StopMember stops one node and closes its app.
func (n *Net) StopMember(m *Member) error {
	err := errors.Join(m.Node.Stop(), m.App.Close())
	for i, x := range n.Members {
		if x == m {
			n.Members = append(n.Members[:i], n.Members[i+1:]...)
			break
		}
	}
	return err
}

// Stop stops every node, full nodes first.
func (n *Net) Stop() error {
	var errs []error
	for i := len(n.Members) - 1; i >= 0; i-- {
		m := n.Members[i]
		errs = append(errs, m.Node.Stop(), m.App.Close())
	}
	n.Members = nil
	return errors.Join(errs...)
}

// writeDemoKeys puts the regulator's and every member operator's demo key in home/keys, so
// the tx command can sign as them by name ("regulator", "szfe", ...).
func writeDemoKeys(home, seed string) error {
	ring := keyring.Open(filepath.Join(home, "keys"))
	if err := ring.Import(keyring.Key{Name: "regulator", Private: ledger.DemoKey(seed, "regulator")}); err != nil {
		return fmt.Errorf("devnet keys: %w", err)
	}
	for _, m := range ledger.DemoMembers {
		k := keyring.Key{Name: strings.ToLower(m.ID), Private: ledger.DemoKey(seed, "member/"+m.ID)}
		if err := ring.Import(k); err != nil {
			return fmt.Errorf("devnet keys: %w", err)
		}
	}
	return nil
}
