package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/types"
)

// Ports are picked below the kernel's ephemeral range (32768 and up), where a port
// released by a probe could be taken by an outgoing connection before the node binds it.
const (
	portLo = 20000
	portHi = 32000
)

var (
	portsMu sync.Mutex
	used    = map[int]bool{}
)

// freePort returns a port in [portLo, portHi) that is free now and that no other test
// in this process has been given.
func freePort(t testing.TB) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		p := portLo + rand.IntN(portHi-portLo)
		if used[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		_ = l.Close()
		used[p] = true
		return p
	}
	t.Fatal("no free port")
	return 0
}

// testLogger writes CometBFT's warnings to stderr under -v and discards them
// otherwise: peers that stop in a test make CometBFT log errors that are expected.
func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// testConfig is DefaultConfig with block timing fast enough for tests.
func testConfig(home, moniker string, p2pPort int) Config {
	cfg := DefaultConfig(home, moniker)
	cfg.P2PListen = fmt.Sprintf("tcp://127.0.0.1:%d", p2pPort)
	cfg.TimeoutPropose = 2 * time.Second
	cfg.TimeoutCommit = 100 * time.Millisecond
	cfg.CreateEmptyBlocksInterval = 0
	cfg.PeerRedialMax = time.Second
	cfg.Logger = testLogger()
	return cfg
}

// member is one node of a test network: its config, keys and current process.
type member struct {
	cfg  Config
	keys Keys
	app  *kvApp
	node *Node
}

func (m *member) statePath() string { return filepath.Join(m.cfg.Home, "kvapp.json") }

// start starts the member with a kvApp loaded from its state file.
func (m *member) start(t testing.TB) {
	t.Helper()
	app, err := newKVApp(m.statePath())
	if err != nil {
		t.Fatal(err)
	}
	m.app = app
	m.node = startNode(t, m.cfg, app)
}

// startNode starts a node and stops it when the test ends.
func startNode(t testing.TB, cfg Config, app *kvApp) *Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := Start(ctx, cfg, app)
	if err != nil {
		t.Fatalf("start %s: %v", cfg.Moniker, err)
	}
	t.Cleanup(func() { _ = n.Stop() })
	return n
}

// network is a set of validators sharing a genesis, all started.
type network struct {
	genesis *types.GenesisDoc
	vals    []*member
	peers   []string
	dir     string
}

// newNetwork starts n validators of equal power on 127.0.0.1; validator 0 serves RPC.
func newNetwork(t testing.TB, n int) *network {
	t.Helper()
	net := &network{dir: t.TempDir()}
	var gvals []GenesisValidator
	for i := range n {
		m := &member{keys: Keys{Validator: ed25519.GenPrivKey(), Node: ed25519.GenPrivKey()}}
		moniker := fmt.Sprintf("val%d", i)
		m.cfg = testConfig(filepath.Join(net.dir, moniker), moniker, freePort(t))
		m.cfg.Validator = true
		if i == 0 {
			m.cfg.RPCListen = fmt.Sprintf("tcp://127.0.0.1:%d", freePort(t))
		}
		net.vals = append(net.vals, m)
		net.peers = append(net.peers, PeerAddress(m.keys.Node, m.cfg.P2PListen[len("tcp://"):]))
		gvals = append(gvals, GenesisValidator{Name: moniker, PubKey: m.keys.Validator.PubKey(), Power: 10})
	}
	gen, err := NewGenesis(GenesisSpec{
		ChainID:    "ledgerscope-test",
		Time:       time.Now().Add(-time.Second),
		Validators: gvals,
		AppState:   []byte(`{"genesis":"yes"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	net.genesis = gen
	for i, m := range net.vals {
		for j, p := range net.peers {
			if i != j {
				m.cfg.PersistentPeers = append(m.cfg.PersistentPeers, p)
			}
		}
		if err := InitHome(m.cfg, gen, m.keys); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range net.vals {
		m.start(t)
	}
	return net
}

// newFullNode prepares, without starting, a non-validating node peered with every
// validator.
func (net *network) newFullNode(t testing.TB, moniker string) *member {
	t.Helper()
	m := &member{keys: Keys{Node: ed25519.GenPrivKey()}}
	m.cfg = testConfig(filepath.Join(net.dir, moniker), moniker, freePort(t))
	m.cfg.PersistentPeers = net.peers
	if err := InitHome(m.cfg, net.genesis, m.keys); err != nil {
		t.Fatal(err)
	}
	return m
}

// block reads height h from src, failing the test after timeout.
func block(t testing.TB, src BlockSource, h int64, timeout time.Duration) *CommittedBlock {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	b, err := src.Block(ctx, h)
	if err != nil {
		t.Fatalf("block %d: %v", h, err)
	}
	return b
}

// waitStopped waits for n to halt on its own and returns why.
func waitStopped(t testing.TB, n *Node, timeout time.Duration) error {
	t.Helper()
	select {
	case <-n.Done():
		return n.Err()
	case <-time.After(timeout):
		t.Fatalf("node did not halt within %s", timeout)
		return nil
	}
}
