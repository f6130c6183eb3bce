package ledger

import (
	"encoding/hex"
	"fmt"
	"strconv"

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
	// fields runs the event's fields, in their order, through c: one declaration serves
	// the binary encoding and the ABCI attributes, both ways.
	fields(c *eventCodec)
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
		c := eventCodec{mode: writeAttrs, w: &attrWriter{attrs: make([]abci.EventAttribute, 0, 8)}}
		ev.fields(&c)
		out[i] = abci.Event{Type: ev.EventType(), Attributes: c.w.attrs}
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
		c := eventCodec{mode: readAttrs, r: &attrReader{attrs: evs[i].Attributes}}
		ev.fields(&c)
		if c.r.err != nil {
			return nil, fmt.Errorf("event %d (%s): %w", i, evs[i].Type, c.r.err)
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
	c := eventCodec{mode: encodeBinary, e: encoder{buf: make([]byte, 0, 64*len(evs))}}
	c.e.u8(uint8(len(evs)))
	for _, ev := range evs {
		c.e.u8(eventKind(ev.EventType()))
		ev.fields(&c)
	}
	return c.e.buf
}

// DecodeEvents reads events encoded by EncodeEvents; anything else is ErrMalformed.
func DecodeEvents(b []byte) ([]Event, error) {
	if len(b) == 0 {
		return nil, nil
	}
	c := eventCodec{mode: decodeBinary, d: decoder{buf: b}}
	d := &c.d
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
		ev.fields(&c)
		out = append(out, ev)
	}
	if err := d.end("events"); err != nil {
		return nil, err
	}
	return out, nil
}

// TxEvents returns the typed events of one transaction's result.
func TxEvents(r *abci.ExecTxResult) ([]Event, error) { return DecodeEvents(r.Data) }

func (e *TransferEvent) fields(c *eventCodec) {
	c.addr("from", &e.From)
	c.addr("to", &e.To)
	c.str("asset", &e.Asset, 24)
	c.u64("amount", &e.Amount)
	c.str("leg", &e.Leg, 16)
}

func (e *BalanceEvent) fields(c *eventCodec) {
	c.addr("account", &e.Account)
	c.str("asset", &e.Asset, 24)
	c.i64("delta", &e.Delta)
	c.u64("amount", &e.Amount)
	c.u64("locked", &e.Locked)
}

func (e *LockEvent) fields(c *eventCodec) {
	c.hash("settlement", &e.Settlement)
	c.addr("account", &e.Account)
	c.str("asset", &e.Asset, 24)
	c.u64("amount", &e.Amount)
}

func (e *ReleaseEvent) fields(c *eventCodec) {
	c.hash("settlement", &e.Settlement)
	c.addr("account", &e.Account)
	c.str("asset", &e.Asset, 24)
	c.u64("amount", &e.Amount)
	c.str("outcome", &e.Outcome, 16)
}

func (e *MintEvent) fields(c *eventCodec) {
	c.str("asset", &e.Asset, 24)
	c.addr("to", &e.To)
	c.u64("amount", &e.Amount)
	c.u64("supply", &e.Supply)
}

func (e *BurnEvent) fields(c *eventCodec) {
	c.str("asset", &e.Asset, 24)
	c.addr("from", &e.From)
	c.u64("amount", &e.Amount)
	c.u64("supply", &e.Supply)
}

func (e *FreezeEvent) fields(c *eventCodec) {
	c.addr("account", &e.Account)
	c.str("asset", &e.Asset, 24)
	c.bool("frozen", &e.Frozen)
	c.str("reason", &e.Reason, maxName)
}

func (e *AccountEvent) fields(c *eventCodec) {
	c.addr("address", &e.Address)
	c.pubKey("pubkey", &e.PubKey)
	c.str("sponsor", &e.Sponsor, 8)
	named(c, "kind", &e.Kind, AccountKind.String, ParseAccountKind)
	c.hash("owner_ref", &e.OwnerRef)
	c.list("venues", &e.Venues, maxVenues, 8)
}

// fields of an AssetEvent: the binary encoding is the asset's record, as the state keeps
// it; the attributes are what a person reads about a new asset.
func (e *AssetEvent) fields(c *eventCodec) {
	a := &e.Asset
	switch c.mode {
	case encodeBinary:
		a.encode(&c.e)
		return
	case decodeBinary:
		a.decode(&c.d)
		return
	}
	c.str("symbol", &a.Symbol, 0)
	c.str("name", &a.Name, 0)
	named(c, "class", &a.Class, AssetClass.String, ParseAssetClass)
	named(c, "security_kind", &a.Kind, SecurityKind.String, ParseSecurityKind)
	c.u8("decimals", &a.Decimals)
	c.str("issuer", &a.Issuer, 0)
	c.str("venue", &a.Venue, 0)
	c.str("commodity", &a.Commodity, 0)
	c.str("grade", &a.Grade, 0)
	c.str("warehouse", &a.Warehouse, 0)
	c.str("unit", &a.Unit, 0)
	c.u64("position_limit", &a.PositionLimit)
	if c.mode == readAttrs {
		a.Status = StatusActive
	}
}

func (e *ReservesEvent) fields(c *eventCodec) {
	c.u64("amount", &e.Amount)
	c.i64("as_of", &e.AsOf)
	c.hash("report", &e.Report)
	c.u64("supply", &e.Supply)
}

func (e *SettlementEvent) fields(c *eventCodec) {
	c.hash("id", &e.ID)
	c.str("kind", &e.Kind, 16)
	named(c, "state", &e.State, SettlementState.String, parseSettlementState)
	c.str("venue", &e.Venue, 8)
	c.str("gateway", &e.Gateway, 8)
	c.addr("seller", &e.Seller)
	c.addr("buyer", &e.Buyer)
	c.str("asset", &e.Asset, 24)
	c.u64("quantity", &e.Quantity)
	c.u64("cash", &e.Cash)
	c.i64("deadline", &e.Deadline)
	c.str("ref", &e.Ref, maxRef)
	c.str("reason", &e.Reason, maxName)
}

// parseSettlementState reads a settlement state's attribute.
func parseSettlementState(s string) (SettlementState, error) {
	switch s {
	case "locked":
		return SettlementLocked, nil
	case "confirmed":
		return SettlementConfirmed, nil
	case "failed":
		return SettlementFailed, nil
	}
	return 0, fmt.Errorf("unknown state %q", s)
}
