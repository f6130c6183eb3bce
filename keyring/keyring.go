// Package keyring keeps Ed25519 signing keys as files in a directory, one JSON file per key,
// readable only by their owner. It is what the command line signs with.
package keyring

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// ErrNotFound is returned for a key name with no file.
var ErrNotFound = errors.New("no such key")

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Key is a named key.
type Key struct {
	Name    string
	Private ed25519.PrivateKey
}

// Address is the ledger account address of the key.
func (k Key) Address() ledger.Address { return ledger.AddressOf(k.PubKey()) }

// PubKey is the public half.
func (k Key) PubKey() ledger.PubKey { return ledger.PubKeyOf(k.Private) }

type keyFile struct {
	Name    string         `json:"name"`
	Address ledger.Address `json:"address"`
	PubKey  ledger.PubKey  `json:"pubkey"`
	Seed    string         `json:"private_key_seed"`
}

// Ring is a directory of keys.
type Ring struct{ dir string }

// Open returns the ring in dir; the directory is created on first write.
func Open(dir string) *Ring { return &Ring{dir: dir} }

func (r *Ring) path(name string) string { return filepath.Join(r.dir, name+".json") }

// Create generates a fresh key under name; an existing name is an error.
func (r *Ring) Create(name string) (Key, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, fmt.Errorf("generate key: %w", err)
	}
	k := Key{Name: name, Private: priv}
	return k, r.Import(k)
}

// Import stores a key under its name, refusing to replace a different key of that name.
func (r *Ring) Import(k Key) error {
	if !nameRE.MatchString(k.Name) {
		return fmt.Errorf("key name %q: lower-case letters, digits, '.', '_' or '-', up to 64", k.Name)
	}
	if old, err := r.Get(k.Name); err == nil {
		if old.Private.Equal(k.Private) {
			return nil
		}
		return fmt.Errorf("key %q exists with another key", k.Name)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return fmt.Errorf("key directory: %w", err)
	}
	b, err := json.MarshalIndent(keyFile{
		Name: k.Name, Address: k.Address(), PubKey: k.PubKey(), Seed: hex.EncodeToString(k.Private.Seed()),
	}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(r.path(k.Name), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write key %q: %w", k.Name, err)
	}
	return nil
}

// Get loads a key by name.
func (r *Ring) Get(name string) (Key, error) {
	if !nameRE.MatchString(name) {
		return Key{}, fmt.Errorf("key name %q is ill-formed", name)
	}
	b, err := os.ReadFile(r.path(name))
	if errors.Is(err, os.ErrNotExist) {
		return Key{}, fmt.Errorf("%w: %q in %s", ErrNotFound, name, r.dir)
	}
	if err != nil {
		return Key{}, fmt.Errorf("read key %q: %w", name, err)
	}
	var f keyFile
	if err := json.Unmarshal(b, &f); err != nil {
		return Key{}, fmt.Errorf("key file %q: %w", name, err)
	}
	seed, err := hex.DecodeString(f.Seed)
	if err != nil || len(seed) != ed25519.SeedSize {
		return Key{}, fmt.Errorf("key file %q: private key seed is not %d hex bytes", name, ed25519.SeedSize)
	}
	k := Key{Name: name, Private: ed25519.NewKeyFromSeed(seed)}
	if k.Address() != f.Address {
		return Key{}, fmt.Errorf("key file %q: address does not match the key", name)
	}
	return k, nil
}

// List returns the keys in name order.
func (r *Ring) List() ([]Key, error) {
	entries, err := os.ReadDir(r.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	var out []Key
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue
		}
		k, err := r.Get(name)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
