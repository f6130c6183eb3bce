package ledger

import (
	"encoding/hex"
	"strings"
)

// Text forms, so that addresses, keys and hashes read as hex strings in JSON (genesis files,
// query answers) rather than as arrays of numbers.

// MarshalText renders the address as hex.
func (a Address) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText reads a hex address.
func (a *Address) UnmarshalText(b []byte) error {
	v, err := ParseAddress(string(b))
	*a = v
	return err
}

// MarshalText renders the key as hex.
func (p PubKey) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a hex key.
func (p *PubKey) UnmarshalText(b []byte) error {
	v, err := ParsePubKey(string(b))
	*p = v
	return err
}

// MarshalText renders the hash as hex; an unset hash is the empty string.
func (h Hash) MarshalText() ([]byte, error) {
	if h.IsZero() {
		return []byte{}, nil
	}
	return []byte(hex.EncodeToString(h[:])), nil
}

// UnmarshalText reads a hex hash; the empty string is the unset hash.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*h = Hash{}
		return nil
	}
	v, err := ParseHash(string(b))
	*h = v
	return err
}

// Enumerations render as their names in JSON answers, which people read.

// MarshalText renders the status name.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalText renders the kind name.
func (k AccountKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// MarshalText renders the class name.
func (c AssetClass) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// MarshalText renders the security kind name, empty for other classes.
func (k SecurityKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// MarshalText renders the state name.
func (s SettlementState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalText renders the role names, comma-separated.
func (r Role) MarshalText() ([]byte, error) { return []byte(strings.Join(r.Names(), ",")), nil }
