package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/types"
)

// Keys are the private keys a node home holds.
type Keys struct {
	// Validator is the consensus signing key; required for a validator, and must be nil
	// for a full node, which never holds one.
	Validator ed25519.PrivKey
	// Node is the peer-to-peer identity key; when nil an existing node_key.json is kept,
	// or a fresh key is generated.
	Node ed25519.PrivKey
}

// InitHome writes a CometBFT home for cfg: config/config.toml, config/genesis.json,
// config/node_key.json and, for a validator, config/priv_validator_key.json and
// data/priv_validator_state.json.
//
// It is idempotent: a file that already holds the same content is kept, and one that
// holds different content is an error, because silently replacing it would change the
// node's chain or identity. The validator's sign state is never reset, since that would
// let it sign twice at a height. config.toml mirrors cfg for CometBFT's own tools; Start
// takes its settings from Config, not from the file.
func InitHome(cfg Config, genesis *types.GenesisDoc, keys Keys) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if genesis == nil {
		return errors.New("init home: genesis is nil")
	}
	if cfg.Validator && keys.Validator == nil {
		return errors.New("init home: a validator needs its validator key")
	}
	if !cfg.Validator && keys.Validator != nil {
		return errors.New("init home: a full node must not hold a validator key")
	}
	ccfg := cfg.cometConfig()
	for _, dir := range []string{filepath.Join(cfg.Home, "config"), filepath.Join(cfg.Home, "data")} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("init home: %w", err)
		}
	}
	if err := writeConfigFile(ccfg); err != nil {
		return err
	}
	if err := writeGenesis(ccfg.GenesisFile(), genesis); err != nil {
		return err
	}
	if err := writeNodeKey(ccfg.NodeKeyFile(), keys.Node); err != nil {
		return err
	}
	if cfg.Validator {
		return writeValidatorKey(ccfg.PrivValidatorKeyFile(), ccfg.PrivValidatorStateFile(), keys.Validator)
	}
	return nil
}

func writeConfigFile(ccfg *cmtcfg.Config) error {
	path := filepath.Join(ccfg.RootDir, "config", "config.toml")
	// WriteConfigFile panics on I/O errors.
	return catch("write "+path, func() { cmtcfg.WriteConfigFile(path, ccfg) })
}

func writeGenesis(path string, genesis *types.GenesisDoc) error {
	if err := genesis.ValidateAndComplete(); err != nil {
		return fmt.Errorf("init home: genesis: %w", err)
	}
	b, err := cmtjson.MarshalIndent(genesis, "", "  ")
	if err != nil {
		return fmt.Errorf("init home: encode genesis: %w", err)
	}
	return writeOnce(path, b, 0o644)
}

func writeNodeKey(path string, key ed25519.PrivKey) error {
	if key == nil {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		key = ed25519.GenPrivKey()
	}
	b, err := cmtjson.Marshal(p2p.NodeKey{PrivKey: key})
	if err != nil {
		return fmt.Errorf("init home: encode node key: %w", err)
	}
	if existing, err := p2p.LoadNodeKey(path); err == nil {
		if !bytes.Equal(existing.PrivKey.Bytes(), key.Bytes()) {
			return fmt.Errorf("init home: %s holds a different node key", path)
		}
		return nil
	}
	return writeOnce(path, b, 0o600)
}

func writeValidatorKey(keyPath, statePath string, key ed25519.PrivKey) error {
	pv := privval.NewFilePV(key, keyPath, statePath)
	if b, err := os.ReadFile(keyPath); err == nil {
		var existing privval.FilePVKey
		if err := cmtjson.Unmarshal(b, &existing); err != nil {
			return fmt.Errorf("init home: read %s: %w", keyPath, err)
		}
		if existing.PrivKey == nil || !bytes.Equal(existing.PrivKey.Bytes(), key.Bytes()) {
			return fmt.Errorf("init home: %s holds a different validator key", keyPath)
		}
	} else if err := catch("write "+keyPath, pv.Key.Save); err != nil {
		return err
	}
	if _, err := os.Stat(statePath); err == nil {
		return nil
	}
	return catch("write "+statePath, pv.LastSignState.Save)
}

// writeOnce writes b to path unless the file already holds exactly b.
func writeOnce(path string, b []byte, perm os.FileMode) error {
	existing, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(existing, b):
		return nil
	case err == nil:
		return fmt.Errorf("init home: %s exists with different content", path)
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("init home: %w", err)
	}
	if err := os.WriteFile(path, b, perm); err != nil {
		return fmt.Errorf("init home: %w", err)
	}
	return nil
}

// catch turns a panic of f, which is how several CometBFT helpers report I/O errors,
// into an error.
func catch(what string, f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %v", what, r)
		}
	}()
	f()
	return nil
}

// GenesisValidator is one member of the initial validator set.
type GenesisValidator struct {
	// Name labels the validator in genesis.json, e.g. the exchange's member id.
	Name string
	// PubKey is the validator's consensus public key.
	PubKey crypto.PubKey
	// Power is its voting power; +2/3 of the total commits a block.
	Power int64
}

// GenesisSpec describes a chain's genesis.
type GenesisSpec struct {
	// ChainID names the chain; every signature commits to it.
	ChainID string
	// Time is the genesis time. It is required: every node must hold byte-identical
	// genesis files, so it cannot default to each node's clock.
	Time time.Time
	// Validators is the initial validator set.
	Validators []GenesisValidator
	// AppState is the application's genesis state, handed to InitChain.
	AppState json.RawMessage
	// BlockMaxBytes is the block size limit; 0 means DefaultBlockMaxBytes.
	BlockMaxBytes int64
}

// NewGenesis builds and validates the genesis document of spec.
func NewGenesis(spec GenesisSpec) (*types.GenesisDoc, error) {
	if spec.Time.IsZero() {
		return nil, errors.New("genesis: time is required")
	}
	if len(spec.Validators) == 0 {
		return nil, errors.New("genesis: no validators")
	}
	if len(spec.AppState) > 0 && !json.Valid(spec.AppState) {
		return nil, errors.New("genesis: app state is not valid JSON")
	}
	params := types.DefaultConsensusParams()
	params.Block.MaxBytes = DefaultBlockMaxBytes
	if spec.BlockMaxBytes != 0 {
		params.Block.MaxBytes = spec.BlockMaxBytes
	}
	params.Block.MaxGas = -1
	doc := &types.GenesisDoc{
		GenesisTime:     spec.Time.UTC(),
		ChainID:         spec.ChainID,
		InitialHeight:   1,
		ConsensusParams: params,
		AppState:        spec.AppState,
	}
	for _, v := range spec.Validators {
		if v.PubKey == nil {
			return nil, fmt.Errorf("genesis: validator %q has no public key", v.Name)
		}
		doc.Validators = append(doc.Validators, types.GenesisValidator{
			Address: v.PubKey.Address(),
			PubKey:  v.PubKey,
			Power:   v.Power,
			Name:    v.Name,
		})
	}
	if err := doc.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	return doc, nil
}

// NodeID returns the peer-to-peer id of the node whose identity key is key.
func NodeID(key ed25519.PrivKey) string {
	return string(p2p.PubKeyToID(key.PubKey()))
}

// PeerAddress returns the "nodeid@host:port" form that PersistentPeers takes.
func PeerAddress(key ed25519.PrivKey, hostPort string) string {
	return NodeID(key) + "@" + hostPort
}
