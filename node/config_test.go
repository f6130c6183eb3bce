package node

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/types"
)

func TestConfigValidate(t *testing.T) {
	lo, _ := ephemeralPorts()
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // substring of the error, "" for none
	}{
		{"defaults", func(*Config) {}, ""},
		{"no home", func(c *Config) { c.Home = "" }, "home is empty"},
		{"no moniker", func(c *Config) { c.Moniker = "" }, "moniker is empty"},
		{"no p2p address", func(c *Config) { c.P2PListen = "" }, "p2p listen address is empty"},
		{"bad p2p address", func(c *Config) { c.P2PListen = "tcp://127.0.0.1" }, "p2p listen address"},
		{"ephemeral p2p port", func(c *Config) { c.P2PListen = fmt.Sprintf("tcp://127.0.0.1:%d", lo+10) }, "ephemeral range"},
		{"ephemeral rpc port", func(c *Config) { c.RPCListen = fmt.Sprintf("tcp://127.0.0.1:%d", lo) }, "rpc port"},
		{"rpc off", func(c *Config) { c.RPCListen = "" }, ""},
		{"bad peer", func(c *Config) { c.PersistentPeers = []string{"127.0.0.1:26656"} }, "nodeid@host:port"},
		{"kv indexer", func(c *Config) { c.TxIndexer = "kv" }, ""},
		{"bad indexer", func(c *Config) { c.TxIndexer = "psql" }, "tx indexer"},
		{"bad concurrency", func(c *Config) { c.ABCIConcurrency = "wild" }, "ABCI concurrency"},
		{"empty mempool", func(c *Config) { c.MempoolSize = 0 }, "mempool"},
		{"no mempool cache", func(c *Config) { c.MempoolCacheSize = 0 }, ""},
		{"negative mempool cache", func(c *Config) { c.MempoolCacheSize = -1 }, "cache size"},
		{"no rate", func(c *Config) { c.P2PSendRate = 0 }, "rates"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig(t.TempDir(), "n0")
			tc.edit(&cfg)
			err := cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want error containing %q, got %v", tc.want, err)
			}
		})
	}
}

func TestCometConfigCarriesTuning(t *testing.T) {
	cfg := DefaultConfig("/tmp/n0", "n0")
	cfg.PersistentPeers = []string{"abc@127.0.0.1:26656"}
	cfg.Tune = func(c *cmtcfg.Config) { c.Mempool.Broadcast = false }
	c := cfg.cometConfig()
	if err := c.ValidateBasic(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"indexer", c.TxIndex.Indexer, "null"},
		{"discard responses", c.Storage.DiscardABCIResponses, false},
		{"pex off with peers", c.P2P.PexReactor, false},
		{"strict address book", c.P2P.AddrBookStrict, false},
		{"duplicate ip", c.P2P.AllowDuplicateIP, true},
		{"send rate", c.P2P.SendRate, int64(DefaultP2PRate)},
		{"mempool size", c.Mempool.Size, 100_000},
		{"max tx bytes", c.Mempool.MaxTxBytes, 4096},
		{"empty blocks", c.Consensus.CreateEmptyBlocks, true},
		{"tuned", c.Mempool.Broadcast, false},
		{"root", c.RootDir, "/tmp/n0"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	cfg.PersistentPeers = nil
	if !cfg.cometConfig().P2P.PexReactor {
		t.Error("pex off without persistent peers")
	}
	full := FullNodeConfig("/tmp/f0", "f0")
	if err := full.Validate(); err != nil {
		t.Fatal(err)
	}
	if fc := full.cometConfig(); full.Validator || fc.Mempool.CacheSize != 0 || fc.Mempool.Size != c.Mempool.Size {
		t.Errorf("full node: validator %v, mempool cache %d, size %d", full.Validator, fc.Mempool.CacheSize, fc.Mempool.Size)
	}
}

func TestNewGenesis(t *testing.T) {
	val := GenesisValidator{Name: "SZFE", PubKey: ed25519.GenPrivKey().PubKey(), Power: 10}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name string
		spec GenesisSpec
		want string
	}{
		{"ok", GenesisSpec{ChainID: "c", Time: now, Validators: []GenesisValidator{val}, AppState: []byte(`{}`)}, ""},
		{"no time", GenesisSpec{ChainID: "c", Validators: []GenesisValidator{val}}, "time is required"},
		{"no validators", GenesisSpec{ChainID: "c", Time: now}, "no validators"},
		{"no chain id", GenesisSpec{Time: now, Validators: []GenesisValidator{val}}, "chain_id"},
		{"bad app state", GenesisSpec{ChainID: "c", Time: now, Validators: []GenesisValidator{val}, AppState: []byte(`{`)}, "not valid JSON"},
		{"zero power", GenesisSpec{ChainID: "c", Time: now, Validators: []GenesisValidator{{Name: "x", PubKey: val.PubKey}}}, "no voting power"},
		{"no key", GenesisSpec{ChainID: "c", Time: now, Validators: []GenesisValidator{{Name: "x", Power: 1}}}, "no public key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := NewGenesis(tc.spec)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("want error containing %q, got %v", tc.want, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if doc.ConsensusParams.Block.MaxBytes != DefaultBlockMaxBytes || !doc.GenesisTime.Equal(now) ||
				len(doc.Validators) != 1 || !bytes.Equal(doc.Validators[0].Address, val.PubKey.Address()) {
				t.Fatalf("genesis %+v", doc)
			}
		})
	}
}

func TestInitHomeIsIdempotentAndGuardsIdentity(t *testing.T) {
	valKey, nodeKey := ed25519.GenPrivKey(), ed25519.GenPrivKey()
	gen, err := NewGenesis(GenesisSpec{
		ChainID:    "c",
		Time:       time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Validators: []GenesisValidator{{Name: "v", PubKey: valKey.PubKey(), Power: 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	cfg := DefaultConfig(home, "v")
	cfg.Validator = true
	keys := Keys{Validator: valKey, Node: nodeKey}
	if err := InitHome(cfg, gen, keys); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config/config.toml", "config/genesis.json", "config/node_key.json",
		"config/priv_validator_key.json", "data/priv_validator_state.json"} {
		if _, err := os.Stat(filepath.Join(home, f)); err != nil {
			t.Fatalf("missing %s: %v", f, err)
		}
	}
	// A validator that has signed up to height 7 must never be reset to 0.
	statePath := filepath.Join(home, "data/priv_validator_state.json")
	signed, err := cmtjson.Marshal(privval.FilePVLastSignState{Height: 7, Round: 0, Step: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(statePath, signed, 0o600); err != nil {
		t.Fatal(err)
	}

	otherGen := *gen
	otherGen.ChainID = "other"
	fullCfg := DefaultConfig(home, "v")
	for _, tc := range []struct {
		name string
		cfg  Config
		gen  *types.GenesisDoc
		keys Keys
		want string
	}{
		{"same inputs again", cfg, gen, keys, ""},
		{"node key generated earlier is kept", cfg, gen, Keys{Validator: valKey}, ""},
		{"different node key", cfg, gen, Keys{Validator: valKey, Node: ed25519.GenPrivKey()}, "different node key"},
		{"different validator key", cfg, gen, Keys{Validator: ed25519.GenPrivKey(), Node: nodeKey}, "different validator key"},
		{"different genesis", cfg, &otherGen, keys, "different content"},
		{"validator without key", cfg, gen, Keys{Node: nodeKey}, "needs its validator key"},
		{"full node with a validator key", fullCfg, gen, keys, "must not hold a validator key"},
		{"no genesis", cfg, nil, keys, "genesis is nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := InitHome(tc.cfg, tc.gen, tc.keys)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want error containing %q, got %v", tc.want, err)
			}
			b, err := os.ReadFile(statePath)
			if err != nil || !bytes.Equal(b, signed) {
				t.Fatalf("sign state changed: %s %v", b, err)
			}
		})
	}
}

func TestStartRejectsBrokenHomes(t *testing.T) {
	app, err := newKVApp(filepath.Join(t.TempDir(), "kv.json"))
	if err != nil {
		t.Fatal(err)
	}
	m := newSingle(t)
	keyPath := filepath.Join(m.cfg.Home, "config/priv_validator_key.json")
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) Config
		want  string
	}{
		{"empty home", func(t *testing.T) Config { return testConfig(t.TempDir(), "x", freePort(t)) }, "node_key.json"},
		{"corrupt validator key", func(t *testing.T) Config {
			if err := os.WriteFile(keyPath, []byte("{"), 0o600); err != nil {
				t.Fatal(err)
			}
			return m.cfg
		}, "priv_validator_key.json"},
		{"missing validator key", func(t *testing.T) Config {
			if err := os.Remove(keyPath); err != nil {
				t.Fatal(err)
			}
			return m.cfg
		}, "priv_validator_key.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Start(context.Background(), tc.setup(t), app)
			if err == nil {
				_ = n.Stop()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error mentioning %q, got %v", tc.want, err)
			}
		})
	}
}

func TestDivergenceClassifiesCometBFTMessages(t *testing.T) {
	for _, tc := range []struct {
		text string
		want error
	}{
		{"+2/3 committed an invalid block: wrong Block.Header.AppHash.  Expected AA, got BB. Check ABCI app for non-determinism", ErrAppHashMismatch},
		{"wrong Block.Header.AppHash.  Expected AA, got BB", ErrAppHashMismatch},
		{"state.AppHash does not match AppHash after replay. Got AA, expected BB.", ErrAppHashMismatch},
		{"block.AppHash does not match AppHash after replay. Got AA, expected BB.", ErrAppHashMismatch},
		{"wrong Block.Header.LastResultsHash.  Expected AA, got BB", ErrResultsMismatch},
		{"wrong Block.Header.ValidatorsHash", nil},
		{"got an already committed block #9", nil},
	} {
		if got := divergence(tc.text); got != tc.want {
			t.Errorf("%q: got %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestCometLogger(t *testing.T) {
	var buf bytes.Buffer
	var seen []string
	var stopping bool
	l := cometLogger{
		l:        slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
		min:      slog.LevelWarn,
		watch:    func(msg string, _ []any) { seen = append(seen, msg) },
		stopping: func() bool { return stopping },
	}.With("module", "consensus")
	l.Debug("chatty", "height", 1)
	l.Info("chatty too", "height", 1)
	l.Error("bad block", "hash", []byte{0xab, 0xcd}, "height", 2)
	stopping = true
	l.Error("switch not running")
	out := buf.String()
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"debug and info dropped below warn", !strings.Contains(out, "chatty")},
		{"error kept", strings.Contains(out, `level=ERROR msg="bad block"`)},
		{"bytes as hex", strings.Contains(out, "hash=ABCD")},
		{"With attributes kept", strings.Contains(out, "module=consensus")},
		{"errors while stopping demoted below warn", !strings.Contains(out, "switch not running")},
		{"watch sees every error", len(seen) == 2},
	} {
		if !tc.ok {
			t.Errorf("%s:\n%s", tc.name, out)
		}
	}
}
