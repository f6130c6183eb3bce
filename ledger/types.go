package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
)

// Address identifies an account: the first 20 bytes of SHA-256 of its Ed25519 public key, as
// CometBFT derives validator addresses.
type Address [20]byte

// PubKey is an Ed25519 public key.
type PubKey [32]byte

// Hash is a SHA-256 digest: transaction hashes, settlement ids, owner references.
type Hash [32]byte

// AddressOf derives the account address of a public key.
func AddressOf(pk PubKey) Address {
	sum := sha256.Sum256(pk[:])
	var a Address
	copy(a[:], sum[:20])
	return a
}

// String renders the address as lower-case hex, the form used on the CLI and in events.
func (a Address) String() string { return hex.EncodeToString(a[:]) }

// IsZero reports whether the address is unset.
func (a Address) IsZero() bool { return a == Address{} }

// String renders the key as lower-case hex.
func (p PubKey) String() string { return hex.EncodeToString(p[:]) }

// String renders the hash as upper-case hex, as CometBFT prints transaction hashes.
func (h Hash) String() string { return fmt.Sprintf("%X", h[:]) }

// IsZero reports whether the hash is unset.
func (h Hash) IsZero() bool { return h == Hash{} }

// ParseAddress reads a 40-digit hex address.
func ParseAddress(s string) (Address, error) {
	var a Address
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(a) {
		return a, fmt.Errorf("address %q: want 40 hex digits", s)
	}
	copy(a[:], b)
	return a, nil
}

// ParseHash reads a 64-digit hex hash in either case.
func ParseHash(s string) (Hash, error) {
	var h Hash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("hash %q: want 64 hex digits", s)
	}
	copy(h[:], b)
	return h, nil
}

// ParsePubKey reads a 64-digit hex public key.
func ParsePubKey(s string) (PubKey, error) {
	var p PubKey
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(p) {
		return p, fmt.Errorf("public key %q: want 64 hex digits", s)
	}
	copy(p[:], b)
	return p, nil
}

// MaxAmount bounds every amount and supply so that it fits a signed 64-bit integer, the widest
// integer PostgreSQL and JSON consumers take without loss.
const MaxAmount = math.MaxInt64

// Role is what a member does in the consortium; a member may hold several.
type Role uint8

// Member roles, as bits of a set.
const (
	RoleExchange       Role = 1 << iota // runs a validator, is a trading venue
	RoleBroker                          // sponsors client accounts
	RoleIssuer                          // issues securities, rights, loyalty credits
	RoleSettlementBank                  // issues the settlement coin
	RoleGateway                         // confirms off-chain fiat payments
	RoleCustodian                       // warehouses commodities, issues receipts
	roleAll            = RoleExchange | RoleBroker | RoleIssuer | RoleSettlementBank | RoleGateway | RoleCustodian
)

var roleNames = []struct {
	r    Role
	name string
}{
	{RoleExchange, "exchange"}, {RoleBroker, "broker"}, {RoleIssuer, "issuer"},
	{RoleSettlementBank, "settlement_bank"}, {RoleGateway, "gateway"}, {RoleCustodian, "custodian"},
}

// Names lists the roles in the set, in a fixed order.
func (r Role) Names() []string {
	var out []string
	for _, rn := range roleNames {
		if r&rn.r != 0 {
			out = append(out, rn.name)
		}
	}
	return out
}

// ParseRole reads one role name.
func ParseRole(s string) (Role, error) {
	for _, rn := range roleNames {
		if rn.name == s {
			return rn.r, nil
		}
	}
	return 0, fmt.Errorf("unknown role %q", s)
}

// AccountKind says whether an account belongs to a natural person or an institution; the
// large-value thresholds differ.
type AccountKind uint8

// Account kinds.
const (
	KindIndividual  AccountKind = 1
	KindInstitution AccountKind = 2
)

func (k AccountKind) String() string {
	switch k {
	case KindIndividual:
		return "individual"
	case KindInstitution:
		return "institution"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseAccountKind reads "individual" or "institution".
func ParseAccountKind(s string) (AccountKind, error) {
	switch s {
	case "individual":
		return KindIndividual, nil
	case "institution":
		return KindInstitution, nil
	}
	return 0, fmt.Errorf("unknown account kind %q (individual, institution)", s)
}

// Status is the supervisory state of an account or asset.
type Status uint8

// Statuses.
const (
	StatusActive Status = 1
	StatusFrozen Status = 2
)

func (s Status) String() string {
	switch s {
	case StatusActive:
		return "active"
	case StatusFrozen:
		return "frozen"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// AssetClass is the broad kind of an asset.
type AssetClass uint8

// Asset classes. The settlement coin exists from genesis and cannot be issued by a tx.
const (
	ClassCoin      AssetClass = 1
	ClassSecurity  AssetClass = 2
	ClassCommodity AssetClass = 3
	ClassRight     AssetClass = 4
	ClassLoyalty   AssetClass = 5
)

var classNames = map[AssetClass]string{
	ClassCoin: "coin", ClassSecurity: "security", ClassCommodity: "commodity",
	ClassRight: "right", ClassLoyalty: "loyalty",
}

func (c AssetClass) String() string {
	if n, ok := classNames[c]; ok {
		return n
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// ParseAssetClass reads a class name.
func ParseAssetClass(s string) (AssetClass, error) {
	for c, n := range classNames {
		if n == s {
			return c, nil
		}
	}
	return 0, fmt.Errorf("unknown asset class %q (coin, security, commodity, right, loyalty)", s)
}

// SecurityKind refines ClassSecurity.
type SecurityKind uint8

// Security kinds; zero for every other class.
const (
	SecurityStock  SecurityKind = 1
	SecurityBond   SecurityKind = 2
	SecurityFund   SecurityKind = 3
	SecurityFuture SecurityKind = 4
	SecurityOption SecurityKind = 5
)

var securityNames = map[SecurityKind]string{
	SecurityStock: "stock", SecurityBond: "bond", SecurityFund: "fund",
	SecurityFuture: "future", SecurityOption: "option",
}

func (k SecurityKind) String() string {
	if k == 0 {
		return ""
	}
	if n, ok := securityNames[k]; ok {
		return n
	}
	return fmt.Sprintf("security(%d)", uint8(k))
}

// ParseSecurityKind reads a security kind; the empty string is zero.
func ParseSecurityKind(s string) (SecurityKind, error) {
	if s == "" {
		return 0, nil
	}
	for k, n := range securityNames {
		if n == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown security kind %q (stock, bond, fund, future, option)", s)
}

// CoinSymbol is the settlement coin, pegged 1:1 to the yuan with CoinDecimals decimals.
const CoinSymbol = "CNYS"

// CoinDecimals is the settlement coin's decimals: its smallest unit is the fen.
const CoinDecimals = 2

var (
	symbolRE   = regexp.MustCompile(`^[A-Z0-9][A-Z0-9.\-]{0,23}$`)
	memberIDRE = regexp.MustCompile(`^[A-Z][A-Z0-9]{1,7}$`)
)

// ValidSymbol reports whether s is a well-formed asset symbol.
func ValidSymbol(s string) bool { return symbolRE.MatchString(s) }

// ValidMemberID reports whether s is a well-formed member id.
func ValidMemberID(s string) bool { return memberIDRE.MatchString(s) }
