package ledger

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"
)

// Events are the typed account of what a transaction did, so that a reader of blocks and
// results (ledgersync, an RPC client) needs nothing else: every balance change carries the
// balance after it, every settlement its state.
//
// A transaction's events travel in its result's Data, in the canonical binary encoding: Data
// is part of the results hash that the next block commits to, so every node's events are
// checked by consensus, and CometBFT neither indexes nor publishes them attribute by
// attribute, which cost more than executing the tx. Block-level events (settlement expiries)
// are rare and travel as ABCI events. ToABCI renders any event as attributes for people.

// Event is one typed event.
type Event interface {
	// EventType is the event's name, and its ABCI event type.
	EventType() string
	attrs(a *attrWriter)
	parse(r *attrReader)
	encode(e *encoder)
	decode(d *decoder)
}

// TransferEvent is one leg: an amount of an asset from one account to another. Leg says which:
// "transfer", "asset" and "cash" (the two legs of a DvP), or "settlement" (a gateway
// settlement's delivery).
type TransferEvent struct {
	From, To Address
	Asset    string
	Amount   uint64
	Leg      string
}

// BalanceEvent is a holding after a change, with the change.
type BalanceEvent struct {
	Account Address
	Asset   string
	Delta   int64
	Amount  uint64
	Locked  uint64
}

// LockEvent reserves part of a holding for a settlement.
type LockEvent struct {
	Settlement Hash
	Account    Address
	Asset      string
	Amount     uint64
}

// ReleaseEvent ends a lock: "confirmed" (delivered to the buyer) or "failed" (back to the
// seller's free balance).
type ReleaseEvent struct {
	Settlement Hash
	Account    Address
	Asset      string
	Amount     uint64
	Outcome    string
}

// MintEvent creates supply.
type MintEvent struct {
	Asset  string
	To     Address
	Amount uint64
	Supply uint64
}

// BurnEvent destroys supply.
type BurnEvent struct {
	Asset  string
	From   Address
	Amount uint64
	Supply uint64
}

// FreezeEvent records a freeze or unfreeze of an account or asset.
type FreezeEvent struct {
	Account Address
	Asset   string
	Frozen  bool
	Reason  string
}

// AccountEvent records a new account.
type AccountEvent struct {
	Address  Address
	PubKey   PubKey
	Sponsor  string
	Kind     AccountKind
	OwnerRef Hash
	Venues   []string
}

// AssetEvent records a new asset.
type AssetEvent struct {
	Asset Asset
}

// ReservesEvent records an attestation, with the coin supply at that moment.
type ReservesEvent struct {
	Amount uint64
	AsOf   int64
	Report Hash
	Supply uint64
}

// SettlementEvent records a settlement's state: a DvP (final at once) or a gateway settlement
// (locked, then confirmed or failed).
type SettlementEvent struct {
	ID       Hash
	Kind     string // "dvp" or "gateway"
	State    SettlementState
	Venue    string // dvp
	Gateway  string // gateway
	Seller   Address
	Buyer    Address
	Asset    string
	Quantity uint64
	Cash     uint64 // coin for dvp, fiat fen for gateway
	Deadline int64
	Ref      string
	Reason   string
}

// EventType implementations.

// EventType is "transfer".
func (*TransferEvent) EventType() string { return "transfer" }

// EventType is "balance".
func (*BalanceEvent) EventType() string { return "balance" }

// EventType is "lock".
func (*LockEvent) EventType() string { return "lock" }

// EventType is "release".
func (*ReleaseEvent) EventType() string { return "release" }

// EventType is "mint".
func (*MintEvent) EventType() string { return "mint" }

// EventType is "burn".
func (*BurnEvent) EventType() string { return "burn" }

// EventType is "freeze".
func (*FreezeEvent) EventType() string { return "freeze" }

// EventType is "account".
func (*AccountEvent) EventType() string { return "account" }

// EventType is "asset".
func (*AssetEvent) EventType() string { return "asset" }

// EventType is "reserves".
func (*ReservesEvent) EventType() string { return "reserves" }

// EventType is "settlement".
func (*SettlementEvent) EventType() string { return "settlement" }

func newEvent(kind string) Event {
	switch kind {
	case "transfer":
		return &TransferEvent{}
	case "balance":
		return &BalanceEvent{}
	case "lock":
		return &LockEvent{}
	case "release":
		return &ReleaseEvent{}
	case "mint":
		return &MintEvent{}
	case "burn":
		return &BurnEvent{}
	case "freeze":
		return &FreezeEvent{}
	case "account":
		return &AccountEvent{}
	case "asset":
		return &AssetEvent{}
	case "reserves":
		return &ReservesEvent{}
	case "settlement":
		return &SettlementEvent{}
	}
	return nil
}

// ToABCI renders typed events as ABCI events.
func ToABCI(evs []Event) []abci.Event {
	out := make([]abci.Event, len(evs))
	for i, ev := range evs {
		w := attrWriter{attrs: make([]abci.EventAttribute, 0, 8)}
		ev.attrs(&w)
		out[i] = abci.Event{Type: ev.EventType(), Attributes: w.attrs}
	}
	return out
}

// ParseEvents reads typed events back from ABCI events; events of other types (CometBFT's
// own) are skipped.
func ParseEvents(evs []abci.Event) ([]Event, error) {
	out := make([]Event, 0, len(evs))
	for i := range evs {
		ev := newEvent(evs[i].Type)
		if ev == nil {
			continue
		}
		r := attrReader{attrs: evs[i].Attributes}
		ev.parse(&r)
		if r.err != nil {
			return nil, fmt.Errorf("event %d (%s): %w", i, evs[i].Type, r.err)
		}
		out = append(out, ev)
	}
	return out, nil
}

type attrWriter struct{ attrs []abci.EventAttribute }

// Empty and zero values are left out: every attribute costs CometBFT work per node (it indexes
// and publishes them), and a reader takes a missing attribute for the zero value.
func (w *attrWriter) str(k, v string) {
	if v != "" {
		w.attrs = append(w.attrs, abci.EventAttribute{Key: k, Value: v})
	}
}

func (w *attrWriter) addr(k string, a Address) {
	if !a.IsZero() {
		w.str(k, hex.EncodeToString(a[:]))
	}
}

func (w *attrWriter) hash(k string, h Hash) {
	if !h.IsZero() {
		w.str(k, h.String())
	}
}

func (w *attrWriter) u64(k string, v uint64) {
	if v != 0 {
		w.str(k, strconv.FormatUint(v, 10))
	}
}

func (w *attrWriter) i64(k string, v int64) {
	if v != 0 {
		w.str(k, strconv.FormatInt(v, 10))
	}
}

// attrReader reads attributes by key; a missing one is the zero value, and the first
// malformed one is the error.
type attrReader struct {
	attrs []abci.EventAttribute
	err   error
}

func (r *attrReader) str(k string) string {
	for _, a := range r.attrs {
		if a.Key == k {
			return a.Value
		}
	}
	return ""
}

func (r *attrReader) check(k string, err error) {
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("attribute %q: %w", k, err)
	}
}

func (r *attrReader) addr(k string) Address {
	s := r.str(k)
	if s == "" {
		return Address{}
	}
	a, err := ParseAddress(s)
	r.check(k, err)
	return a
}

func (r *attrReader) hash(k string) Hash {
	s := r.str(k)
	if s == "" {
		return Hash{}
	}
	h, err := ParseHash(s)
	r.check(k, err)
	return h
}

func (r *attrReader) u64(k string) uint64 {
	s := r.str(k)
	if s == "" {
		return 0
	}
	v, err := strconv.ParseUint(s, 10, 64)
	r.check(k, err)
	return v
}

func (r *attrReader) i64(k string) int64 {
	s := r.str(k)
	if s == "" {
		return 0
	}
	v, err := strconv.ParseInt(s, 10, 64)
	r.check(k, err)
	return v
}

func (r *attrReader) u8(k string) uint8 {
	s := r.str(k)
	if s == "" {
		return 0
	}
	v, err := strconv.ParseUint(s, 10, 8)
	r.check(k, err)
	return uint8(v)
}

func (e *TransferEvent) attrs(w *attrWriter) {
	w.addr("from", e.From)
	w.addr("to", e.To)
	w.str("asset", e.Asset)
	w.u64("amount", e.Amount)
	w.str("leg", e.Leg)
}

func (e *TransferEvent) parse(r *attrReader) {
	e.From, e.To = r.addr("from"), r.addr("to")
	e.Asset, e.Amount, e.Leg = r.str("asset"), r.u64("amount"), r.str("leg")
}

func (e *BalanceEvent) attrs(w *attrWriter) {
	w.addr("account", e.Account)
	w.str("asset", e.Asset)
	w.i64("delta", e.Delta)
	w.u64("amount", e.Amount)
	w.u64("locked", e.Locked)
}

func (e *BalanceEvent) parse(r *attrReader) {
	e.Account, e.Asset, e.Delta = r.addr("account"), r.str("asset"), r.i64("delta")
	e.Amount, e.Locked = r.u64("amount"), r.u64("locked")
}

func (e *LockEvent) attrs(w *attrWriter) {
	w.hash("settlement", e.Settlement)
	w.addr("account", e.Account)
	w.str("asset", e.Asset)
	w.u64("amount", e.Amount)
}

func (e *LockEvent) parse(r *attrReader) {
	e.Settlement, e.Account = r.hash("settlement"), r.addr("account")
	e.Asset, e.Amount = r.str("asset"), r.u64("amount")
}

func (e *ReleaseEvent) attrs(w *attrWriter) {
	w.hash("settlement", e.Settlement)
	w.addr("account", e.Account)
	w.str("asset", e.Asset)
	w.u64("amount", e.Amount)
	w.str("outcome", e.Outcome)
}

func (e *ReleaseEvent) parse(r *attrReader) {
	e.Settlement, e.Account = r.hash("settlement"), r.addr("account")
	e.Asset, e.Amount, e.Outcome = r.str("asset"), r.u64("amount"), r.str("outcome")
}

func (e *MintEvent) attrs(w *attrWriter) {
	w.str("asset", e.Asset)
	w.addr("to", e.To)
	w.u64("amount", e.Amount)
	w.u64("supply", e.Supply)
}

func (e *MintEvent) parse(r *attrReader) {
	e.Asset, e.To, e.Amount, e.Supply = r.str("asset"), r.addr("to"), r.u64("amount"), r.u64("supply")
}

func (e *BurnEvent) attrs(w *attrWriter) {
	w.str("asset", e.Asset)
	w.addr("from", e.From)
	w.u64("amount", e.Amount)
	w.u64("supply", e.Supply)
}

func (e *BurnEvent) parse(r *attrReader) {
	e.Asset, e.From, e.Amount, e.Supply = r.str("asset"), r.addr("from"), r.u64("amount"), r.u64("supply")
}

func (e *FreezeEvent) attrs(w *attrWriter) {
	w.addr("account", e.Account)
	w.str("asset", e.Asset)
	w.str("frozen", strconv.FormatBool(e.Frozen))
	w.str("reason", e.Reason)
}

func (e *FreezeEvent) parse(r *attrReader) {
	e.Account, e.Asset, e.Reason = r.addr("account"), r.str("asset"), r.str("reason")
	f, err := strconv.ParseBool(r.str("frozen"))
	r.check("frozen", err)
	e.Frozen = f
}

func (e *AccountEvent) attrs(w *attrWriter) {
	w.addr("address", e.Address)
	w.str("pubkey", e.PubKey.String())
	w.str("sponsor", e.Sponsor)
	w.str("kind", e.Kind.String())
	w.hash("owner_ref", e.OwnerRef)
	w.str("venues", strings.Join(e.Venues, ","))
}

func (e *AccountEvent) parse(r *attrReader) {
	e.Address = r.addr("address")
	pk, err := ParsePubKey(r.str("pubkey"))
	r.check("pubkey", err)
	e.PubKey = pk
	e.Sponsor = r.str("sponsor")
	k, err := ParseAccountKind(r.str("kind"))
	r.check("kind", err)
	e.Kind = k
	e.OwnerRef = r.hash("owner_ref")
	if v := r.str("venues"); v != "" {
		e.Venues = strings.Split(v, ",")
	}
}

func (e *AssetEvent) attrs(w *attrWriter) {
	a := &e.Asset
	w.str("symbol", a.Symbol)
	w.str("name", a.Name)
	w.str("class", a.Class.String())
	w.str("security_kind", a.Kind.String())
	w.u64("decimals", uint64(a.Decimals))
	w.str("issuer", a.Issuer)
	w.str("venue", a.Venue)
	w.str("commodity", a.Commodity)
	w.str("grade", a.Grade)
	w.str("warehouse", a.Warehouse)
	w.str("unit", a.Unit)
	w.u64("position_limit", a.PositionLimit)
}

func (e *AssetEvent) parse(r *attrReader) {
	a := &e.Asset
	a.Symbol, a.Name = r.str("symbol"), r.str("name")
	c, err := ParseAssetClass(r.str("class"))
	r.check("class", err)
	a.Class = c
	k, err := ParseSecurityKind(r.str("security_kind"))
	r.check("security_kind", err)
	a.Kind = k
	a.Decimals = r.u8("decimals")
	a.Issuer, a.Venue = r.str("issuer"), r.str("venue")
	a.Commodity, a.Grade, a.Warehouse, a.Unit = r.str("commodity"), r.str("grade"), r.str("warehouse"), r.str("unit")
	a.PositionLimit = r.u64("position_limit")
	a.Status = StatusActive
}

func (e *ReservesEvent) attrs(w *attrWriter) {
	w.u64("amount", e.Amount)
	w.i64("as_of", e.AsOf)
	w.hash("report", e.Report)
	w.u64("supply", e.Supply)
}

func (e *ReservesEvent) parse(r *attrReader) {
	e.Amount, e.AsOf, e.Report, e.Supply = r.u64("amount"), r.i64("as_of"), r.hash("report"), r.u64("supply")
}

func (e *SettlementEvent) attrs(w *attrWriter) {
	w.hash("id", e.ID)
	w.str("kind", e.Kind)
	w.str("state", e.State.String())
	w.str("venue", e.Venue)
	w.str("gateway", e.Gateway)
	w.addr("seller", e.Seller)
	w.addr("buyer", e.Buyer)
	w.str("asset", e.Asset)
	w.u64("quantity", e.Quantity)
	w.u64("cash", e.Cash)
	w.i64("deadline", e.Deadline)
	w.str("ref", e.Ref)
	w.str("reason", e.Reason)
}

func (e *SettlementEvent) parse(r *attrReader) {
	e.ID, e.Kind = r.hash("id"), r.str("kind")
	switch s := r.str("state"); s {
	case "locked":
		e.State = SettlementLocked
	case "confirmed":
		e.State = SettlementConfirmed
	case "failed":
		e.State = SettlementFailed
	default:
		r.check("state", fmt.Errorf("unknown state %q", s))
	}
	e.Venue, e.Gateway = r.str("venue"), r.str("gateway")
	e.Seller, e.Buyer = r.addr("seller"), r.addr("buyer")
	e.Asset, e.Quantity, e.Cash = r.str("asset"), r.u64("quantity"), r.u64("cash")
	e.Deadline, e.Ref, e.Reason = r.i64("deadline"), r.str("ref"), r.str("reason")
}

// eventKinds numbers the event types in the binary encoding; never renumbered.
var eventKinds = []string{"", "transfer", "balance", "lock", "release", "mint", "burn", "freeze", "account", "asset", "reserves", "settlement"}

func eventKind(name string) byte {
	for i, n := range eventKinds {
		if n == name && i > 0 {
			return byte(i)
		}
	}
	return 0
}

// maxEvents bounds the events one result may carry.
const maxEvents = 64

// EncodeEvents is the canonical binary encoding of a transaction's events.
func EncodeEvents(evs []Event) []byte {
	if len(evs) == 0 {
		return nil
	}
	e := encoder{buf: make([]byte, 0, 64*len(evs))}
	e.u8(uint8(len(evs)))
	for _, ev := range evs {
		e.u8(eventKind(ev.EventType()))
		ev.encode(&e)
	}
	return e.buf
}

// DecodeEvents reads events encoded by EncodeEvents; anything else is ErrMalformed.
func DecodeEvents(b []byte) ([]Event, error) {
	if len(b) == 0 {
		return nil, nil
	}
	d := decoder{buf: b}
	n := int(d.u8("event count"))
	if n == 0 || n > maxEvents {
		return nil, fmt.Errorf("%w: %d events", ErrMalformed, n)
	}
	out := make([]Event, 0, n)
	for range n {
		k := int(d.u8("event kind"))
		if d.err != nil {
			return nil, d.err
		}
		if k == 0 || k >= len(eventKinds) {
			return nil, fmt.Errorf("%w: event kind %d", ErrMalformed, k)
		}
		ev := newEvent(eventKinds[k])
		ev.decode(&d)
		out = append(out, ev)
	}
	if err := d.end("events"); err != nil {
		return nil, err
	}
	return out, nil
}

// TxEvents returns the typed events of one transaction's result.
func TxEvents(r *abci.ExecTxResult) ([]Event, error) { return DecodeEvents(r.Data) }

func (e *TransferEvent) encode(w *encoder) {
	w.fixed(e.From[:])
	w.fixed(e.To[:])
	w.str(e.Asset)
	w.u64(e.Amount)
	w.str(e.Leg)
}

func (e *TransferEvent) decode(d *decoder) {
	d.fixed(e.From[:], "from")
	d.fixed(e.To[:], "to")
	e.Asset, e.Amount, e.Leg = d.str("asset", 24), d.u64("amount"), d.str("leg", 16)
}

func (e *BalanceEvent) encode(w *encoder) {
	w.fixed(e.Account[:])
	w.str(e.Asset)
	w.i64(e.Delta)
	w.u64(e.Amount)
	w.u64(e.Locked)
}

func (e *BalanceEvent) decode(d *decoder) {
	d.fixed(e.Account[:], "account")
	e.Asset, e.Delta, e.Amount, e.Locked = d.str("asset", 24), d.i64("delta"), d.u64("amount"), d.u64("locked")
}

func (e *LockEvent) encode(w *encoder) {
	w.fixed(e.Settlement[:])
	w.fixed(e.Account[:])
	w.str(e.Asset)
	w.u64(e.Amount)
}

func (e *LockEvent) decode(d *decoder) {
	d.fixed(e.Settlement[:], "settlement")
	d.fixed(e.Account[:], "account")
	e.Asset, e.Amount = d.str("asset", 24), d.u64("amount")
}

func (e *ReleaseEvent) encode(w *encoder) {
	w.fixed(e.Settlement[:])
	w.fixed(e.Account[:])
	w.str(e.Asset)
	w.u64(e.Amount)
	w.str(e.Outcome)
}

func (e *ReleaseEvent) decode(d *decoder) {
	d.fixed(e.Settlement[:], "settlement")
	d.fixed(e.Account[:], "account")
	e.Asset, e.Amount, e.Outcome = d.str("asset", 24), d.u64("amount"), d.str("outcome", 16)
}

func (e *MintEvent) encode(w *encoder) {
	w.str(e.Asset)
	w.fixed(e.To[:])
	w.u64(e.Amount)
	w.u64(e.Supply)
}

func (e *MintEvent) decode(d *decoder) {
	e.Asset = d.str("asset", 24)
	d.fixed(e.To[:], "to")
	e.Amount, e.Supply = d.u64("amount"), d.u64("supply")
}

func (e *BurnEvent) encode(w *encoder) {
	w.str(e.Asset)
	w.fixed(e.From[:])
	w.u64(e.Amount)
	w.u64(e.Supply)
}

func (e *BurnEvent) decode(d *decoder) {
	e.Asset = d.str("asset", 24)
	d.fixed(e.From[:], "from")
	e.Amount, e.Supply = d.u64("amount"), d.u64("supply")
}

func (e *FreezeEvent) encode(w *encoder) {
	w.fixed(e.Account[:])
	w.str(e.Asset)
	w.bool(e.Frozen)
	w.str(e.Reason)
}

func (e *FreezeEvent) decode(d *decoder) {
	d.fixed(e.Account[:], "account")
	e.Asset, e.Frozen, e.Reason = d.str("asset", 24), d.bool("frozen"), d.str("reason", maxName)
}

func (e *AccountEvent) encode(w *encoder) {
	w.fixed(e.Address[:])
	w.fixed(e.PubKey[:])
	w.str(e.Sponsor)
	w.u8(uint8(e.Kind))
	w.fixed(e.OwnerRef[:])
	w.strs(e.Venues)
}

func (e *AccountEvent) decode(d *decoder) {
	d.fixed(e.Address[:], "address")
	d.fixed(e.PubKey[:], "pubkey")
	e.Sponsor = d.str("sponsor", 8)
	e.Kind = AccountKind(d.u8("kind"))
	d.fixed(e.OwnerRef[:], "owner ref")
	e.Venues = d.strs("venues", maxVenues, 8)
}

func (e *AssetEvent) encode(w *encoder) { e.Asset.encode(w) }
func (e *AssetEvent) decode(d *decoder) { e.Asset.decode(d) }

func (e *ReservesEvent) encode(w *encoder) {
	w.u64(e.Amount)
	w.i64(e.AsOf)
	w.fixed(e.Report[:])
	w.u64(e.Supply)
}

func (e *ReservesEvent) decode(d *decoder) {
	e.Amount, e.AsOf = d.u64("amount"), d.i64("as of")
	d.fixed(e.Report[:], "report")
	e.Supply = d.u64("supply")
}

func (e *SettlementEvent) encode(w *encoder) {
	w.fixed(e.ID[:])
	w.str(e.Kind)
	w.u8(uint8(e.State))
	w.str(e.Venue)
	w.str(e.Gateway)
	w.fixed(e.Seller[:])
	w.fixed(e.Buyer[:])
	w.str(e.Asset)
	w.u64(e.Quantity)
	w.u64(e.Cash)
	w.i64(e.Deadline)
	w.str(e.Ref)
	w.str(e.Reason)
}

func (e *SettlementEvent) decode(d *decoder) {
	d.fixed(e.ID[:], "id")
	e.Kind = d.str("kind", 16)
	e.State = SettlementState(d.u8("state"))
	e.Venue, e.Gateway = d.str("venue", 8), d.str("gateway", 8)
	d.fixed(e.Seller[:], "seller")
	d.fixed(e.Buyer[:], "buyer")
	e.Asset, e.Quantity, e.Cash = d.str("asset", 24), d.u64("quantity"), d.u64("cash")
	e.Deadline, e.Ref, e.Reason = d.i64("deadline"), d.str("ref", maxRef), d.str("reason", maxName)
}
