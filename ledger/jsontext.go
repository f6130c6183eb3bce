package ledger

import (
	"encoding/hex"
	"fmt"
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

// UnmarshalText reads a status name.
func (s *Status) UnmarshalText(b []byte) error {
	for _, v := range []Status{StatusActive, StatusFrozen} {
		if v.String() == string(b) {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("unknown status %q", b)
}

// UnmarshalText reads a kind name.
func (k *AccountKind) UnmarshalText(b []byte) error {
	v, err := ParseAccountKind(string(b))
	*k = v
	return err
}

// UnmarshalText reads a class name.
func (c *AssetClass) UnmarshalText(b []byte) error {
	v, err := ParseAssetClass(string(b))
	*c = v
	return err
}

// UnmarshalText reads a security kind name.
func (k *SecurityKind) UnmarshalText(b []byte) error {
	v, err := ParseSecurityKind(string(b))
	*k = v
	return err
}

// UnmarshalText reads a settlement state name.
func (s *SettlementState) UnmarshalText(b []byte) error {
	for _, v := range []SettlementState{SettlementLocked, SettlementConfirmed, SettlementFailed} {
		if v.String() == string(b) {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("unknown settlement state %q", b)
}

// UnmarshalText reads comma-separated role names.
func (r *Role) UnmarshalText(b []byte) error {
	*r = 0
	if len(b) == 0 {
		return nil
	}
	for _, name := range strings.Split(string(b), ",") {
		v, err := ParseRole(name)
		if err != nil {
			return err
		}
		*r |= v
	}
	return nil
}
