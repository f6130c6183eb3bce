package ledger

import "sort"

// The records of the ledger's state. Each has a canonical encoding, used both to persist it and
// to fold it into the state digest, so two nodes agree on the app hash only if they agree on
// every byte of every record.

// Params are the chain-wide settings fixed at genesis.
type Params struct {
	ChainID   string
	Regulator Address // the only key that may freeze and unfreeze
}

// Member is an institution of the consortium.
type Member struct {
	ID       string
	Name     string
	Roles    Role
	Operator Address // the account that signs for the member
}

// Account is a key admitted to the ledger by its sponsoring member.
type Account struct {
	Address  Address
	PubKey   PubKey
	Sponsor  string // member id; empty for the regulator
	Kind     AccountKind
	OwnerRef Hash
	Status   Status
	Nonce    uint64   // last nonce used; the next tx carries Nonce+1
	Venues   []string // exchanges authorised to settle DvP on its behalf
	Height   int64    // registered at
}

// Asset is an instrument on the ledger.
type Asset struct {
	Symbol        string
	Name          string
	Class         AssetClass
	Kind          SecurityKind
	Decimals      uint8
	Issuer        string
	Venue         string
	Commodity     string
	Grade         string
	Warehouse     string
	Unit          string
	PositionLimit uint64
	Status        Status
	Supply        uint64
	Minted        uint64 // all-time, so coin supply = minted - burned can be checked
	Burned        uint64
	Height        int64
}

// BalanceKey names one holding.
type BalanceKey struct {
	Account Address
	Asset   string
}

// Balance is one holding; Locked of it is reserved for pending settlements.
type Balance struct {
	Amount uint64
	Locked uint64
}

// Available is what the holder may spend.
func (b Balance) Available() uint64 { return b.Amount - b.Locked }

// SettlementState is where a gateway settlement stands.
type SettlementState uint8

// Settlement states.
const (
	SettlementLocked    SettlementState = 1
	SettlementConfirmed SettlementState = 2
	SettlementFailed    SettlementState = 3
)

func (s SettlementState) String() string {
	switch s {
	case SettlementLocked:
		return "locked"
	case SettlementConfirmed:
		return "confirmed"
	case SettlementFailed:
		return "failed"
	}
	return "unknown"
}

// Settlement is a gateway settlement: asset on-chain, funds off-chain.
type Settlement struct {
	ID         Hash
	Seller     Address
	Buyer      Address
	Asset      string
	Quantity   uint64
	Gateway    string
	FiatAmount uint64
	Deadline   int64
	State      SettlementState
	Height     int64 // locked at
	Closed     int64 // height confirmed or failed, 0 while locked
}

// Stats counts the transactions the chain has executed, failed ones included, so that a copy of
// the chain (PostgreSQL) can be reconciled against it.
type Stats struct {
	Txs    uint64
	Failed uint64
}

func (s *Stats) encode(e *encoder) { e.u64(s.Txs); e.u64(s.Failed) }
func (s *Stats) decode(d *decoder) { s.Txs = d.u64("txs"); s.Failed = d.u64("failed") }

// Reserves is the last attestation of the fiat reserve behind the coin.
type Reserves struct {
	Amount uint64
	AsOf   int64
	Report Hash
	Height int64
	Time   int64 // block time of the attestation
}

func (p *Params) encode(e *encoder) { e.str(p.ChainID); e.fixed(p.Regulator[:]) }
func (p *Params) decode(d *decoder) {
	p.ChainID = d.str("chain id", MaxChainID)
	d.fixed(p.Regulator[:], "regulator")
}

func (m *Member) encode(e *encoder) {
	e.str(m.ID)
	e.str(m.Name)
	e.u8(uint8(m.Roles))
	e.fixed(m.Operator[:])
}

func (m *Member) decode(d *decoder) {
	m.ID = d.str("id", 8)
	m.Name = d.str("name", maxName)
	m.Roles = Role(d.u8("roles"))
	d.fixed(m.Operator[:], "operator")
}

func (a *Account) encode(e *encoder) {
	e.fixed(a.Address[:])
	e.fixed(a.PubKey[:])
	e.str(a.Sponsor)
	e.u8(uint8(a.Kind))
	e.fixed(a.OwnerRef[:])
	e.u8(uint8(a.Status))
	e.u64(a.Nonce)
	e.strs(a.Venues)
	e.i64(a.Height)
}

func (a *Account) decode(d *decoder) {
	d.fixed(a.Address[:], "address")
	d.fixed(a.PubKey[:], "pubkey")
	a.Sponsor = d.str("sponsor", 8)
	a.Kind = AccountKind(d.u8("kind"))
	d.fixed(a.OwnerRef[:], "owner ref")
	a.Status = Status(d.u8("status"))
	a.Nonce = d.u64("nonce")
	a.Venues = d.strs("venues", maxVenues, 8)
	a.Height = d.i64("height")
}

func (a *Asset) encode(e *encoder) {
	e.str(a.Symbol)
	e.str(a.Name)
	e.u8(uint8(a.Class))
	e.u8(uint8(a.Kind))
	e.u8(a.Decimals)
	e.str(a.Issuer)
	e.str(a.Venue)
	e.str(a.Commodity)
	e.str(a.Grade)
	e.str(a.Warehouse)
	e.str(a.Unit)
	e.u64(a.PositionLimit)
	e.u8(uint8(a.Status))
	e.u64(a.Supply)
	e.u64(a.Minted)
	e.u64(a.Burned)
	e.i64(a.Height)
}

func (a *Asset) decode(d *decoder) {
	a.Symbol = d.str("symbol", 24)
	a.Name = d.str("name", maxName)
	a.Class = AssetClass(d.u8("class"))
	a.Kind = SecurityKind(d.u8("kind"))
	a.Decimals = d.u8("decimals")
	a.Issuer = d.str("issuer", 8)
	a.Venue = d.str("venue", 8)
	a.Commodity = d.str("commodity", maxName)
	a.Grade = d.str("grade", maxRef)
	a.Warehouse = d.str("warehouse", 8)
	a.Unit = d.str("unit", maxRef)
	a.PositionLimit = d.u64("position limit")
	a.Status = Status(d.u8("status"))
	a.Supply = d.u64("supply")
	a.Minted = d.u64("minted")
	a.Burned = d.u64("burned")
	a.Height = d.i64("height")
}

func (b *Balance) encode(e *encoder) { e.u64(b.Amount); e.u64(b.Locked) }
func (b *Balance) decode(d *decoder) { b.Amount = d.u64("amount"); b.Locked = d.u64("locked") }

func (s *Settlement) encode(e *encoder) {
	e.fixed(s.ID[:])
	e.fixed(s.Seller[:])
	e.fixed(s.Buyer[:])
	e.str(s.Asset)
	e.u64(s.Quantity)
	e.str(s.Gateway)
	e.u64(s.FiatAmount)
	e.i64(s.Deadline)
	e.u8(uint8(s.State))
	e.i64(s.Height)
	e.i64(s.Closed)
}

func (s *Settlement) decode(d *decoder) {
	d.fixed(s.ID[:], "id")
	d.fixed(s.Seller[:], "seller")
	d.fixed(s.Buyer[:], "buyer")
	s.Asset = d.str("asset", 24)
	s.Quantity = d.u64("quantity")
	s.Gateway = d.str("gateway", 8)
	s.FiatAmount = d.u64("fiat amount")
	s.Deadline = d.i64("deadline")
	s.State = SettlementState(d.u8("state"))
	s.Height = d.i64("height")
	s.Closed = d.i64("closed")
}

func (r *Reserves) encode(e *encoder) {
	e.u64(r.Amount)
	e.i64(r.AsOf)
	e.fixed(r.Report[:])
	e.i64(r.Height)
	e.i64(r.Time)
}

func (r *Reserves) decode(d *decoder) {
	r.Amount = d.u64("amount")
	r.AsOf = d.i64("as of")
	d.fixed(r.Report[:], "report")
	r.Height = d.i64("height")
	r.Time = d.i64("time")
}

func sortedKeys[K comparable, V any](m map[K]V, less func(a, b K) bool) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return less(out[i], out[j]) })
	return out
}
