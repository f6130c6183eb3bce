package ledger

import (
	"bytes"
	"fmt"
	"sort"
)

// State is the committed state of the ledger, held in memory and mirrored on disk. Records in
// it are never mutated in place: a block stages copies and Commit swaps them in, so readers of
// the committed state (CheckTx, queries) never see a half-executed block.
type State struct {
	Height   int64
	Params   Params
	Members  map[string]*Member
	Accounts map[Address]*Account
	Assets   map[string]*Asset
	Balances map[BalanceKey]Balance
	// Settlements holds the open (locked) gateway settlements, and the closed ones too when
	// the state has no store to read them back from. A closed settlement never changes
	// again, and one is closed for every few transactions: kept in memory they grew a node
	// without bound, so a state with a store keeps them there only (Settlement reads both).
	Settlements map[Hash]*Settlement
	Reserves    Reserves
	Stats       Stats
	Digest      Digest

	// open lists locked settlements by deadline, derived from Settlements, so that each block
	// finds the expired ones without scanning all settlements.
	open []deadlineRef
	// closed reads the settlements the state let go of; nil keeps them all in Settlements.
	closed settlementReader
}

// settlementReader reads committed settlements from the app's store.
type settlementReader interface {
	// settlement returns the committed settlement id, nil if there is none.
	settlement(id Hash) (*Settlement, error)
	// eachSettlement calls fn for every committed settlement, in id order.
	eachSettlement(fn func(*Settlement) error) error
}

// Settlement returns settlement id, open or closed, nil if there is none.
func (s *State) Settlement(id Hash) (*Settlement, error) {
	if se, ok := s.Settlements[id]; ok || s.closed == nil {
		return se, nil
	}
	return s.closed.settlement(id)
}

// EachSettlement calls fn for every settlement, open or closed; the order is unspecified.
func (s *State) EachSettlement(fn func(*Settlement) error) error {
	if s.closed != nil {
		// Every settlement the state holds is committed: the store has them all.
		return s.closed.eachSettlement(fn)
	}
	for _, se := range s.Settlements {
		if err := fn(se); err != nil {
			return err
		}
	}
	return nil
}

type deadlineRef struct {
	Deadline int64
	ID       Hash
}

func (a deadlineRef) less(b deadlineRef) bool {
	if a.Deadline != b.Deadline {
		return a.Deadline < b.Deadline
	}
	return bytes.Compare(a.ID[:], b.ID[:]) < 0
}

// NewState returns an empty state.
func NewState() *State {
	return &State{
		Members:     map[string]*Member{},
		Accounts:    map[Address]*Account{},
		Assets:      map[string]*Asset{},
		Balances:    map[BalanceKey]Balance{},
		Settlements: map[Hash]*Settlement{},
	}
}

// AppHash is the app hash of the committed state.
func (s *State) AppHash() []byte { return s.Digest.AppHash() }

// Balance returns a holding, zero if there is none.
func (s *State) Balance(a Address, asset string) Balance {
	return s.Balances[BalanceKey{a, asset}]
}

// record is one changed record: its key, its old value (nil if new) and new value (nil if
// deleted), both canonical encodings.
type record struct {
	key, old, new []byte
}

func encodeRecord(v interface{ encode(*encoder) }) []byte {
	e := encoder{buf: make([]byte, 0, 64)}
	v.encode(&e)
	return e.buf
}

// stage is one block's writes over the committed state.
type stage struct {
	base        *State
	height      int64
	time        int64
	params      *Params
	members     map[string]*Member
	accounts    map[Address]*Account
	assets      map[string]*Asset
	balances    map[BalanceKey]Balance
	settlements map[Hash]*Settlement
	reserves    *Reserves
	stats       *Stats
}

func newStage(base *State, height, time int64) *stage {
	return &stage{
		base: base, height: height, time: time,
		members:     map[string]*Member{},
		accounts:    map[Address]*Account{},
		assets:      map[string]*Asset{},
		balances:    map[BalanceKey]Balance{},
		settlements: map[Hash]*Settlement{},
	}
}

func (s *stage) paramsOf() *Params {
	if s.params != nil {
		return s.params
	}
	return &s.base.Params
}

func (s *stage) member(id string) *Member {
	if m, ok := s.members[id]; ok {
		return m
	}
	return s.base.Members[id]
}

func (s *stage) account(a Address) *Account {
	if acc, ok := s.accounts[a]; ok {
		return acc
	}
	return s.base.Accounts[a]
}

func (s *stage) asset(sym string) *Asset {
	if as, ok := s.assets[sym]; ok {
		return as
	}
	return s.base.Assets[sym]
}

func (s *stage) balance(a Address, sym string) Balance {
	k := BalanceKey{a, sym}
	if b, ok := s.balances[k]; ok {
		return b
	}
	return s.base.Balances[k]
}

func (s *stage) settlement(id Hash) *Settlement {
	if st, ok := s.settlements[id]; ok {
		return st
	}
	se, err := s.base.Settlement(id)
	if err != nil {
		// Execution cannot go on without it, and no result code may stand for a disk
		// failure: the node stops, and replays the block once restarted.
		panic(fmt.Sprintf("ledger: read settlement %s at height %d: %v", id, s.height, err))
	}
	return se
}

func (s *stage) reservesOf() Reserves {
	if s.reserves != nil {
		return *s.reserves
	}
	return s.base.Reserves
}

func (s *stage) putAccount(a *Account)        { s.accounts[a.Address] = a }
func (s *stage) putAsset(a *Asset)            { s.assets[a.Symbol] = a }
func (s *stage) putMember(m *Member)          { s.members[m.ID] = m }
func (s *stage) putSettlement(st *Settlement) { s.settlements[st.ID] = st }
func (s *stage) putBalance(a Address, sym string, b Balance) {
	s.balances[BalanceKey{a, sym}] = b
}

// count adds a block's executed transactions to the chain's totals.
func (s *stage) count(txs, failed int) {
	if txs == 0 {
		return
	}
	next := s.base.Stats
	next.Txs += uint64(txs)
	next.Failed += uint64(failed)
	s.stats = &next
}

// changes lists every record the stage writes, with old and new encodings. The order is that
// of map iteration: the digest sums commute and a storage batch holds distinct keys, so order
// does not reach the outcome.
func (s *stage) changes() []record {
	out := make([]record, 0, len(s.accounts)+len(s.balances)+8)
	if s.params != nil {
		out = append(out, record{keyParams(), encodeRecord(&s.base.Params), encodeRecord(s.params)})
	}
	for id, m := range s.members {
		out = append(out, record{keyMember(id), encodeOld(s.base.Members[id]), encodeRecord(m)})
	}
	for a, acc := range s.accounts {
		out = append(out, record{keyAccount(a), encodeOld(s.base.Accounts[a]), encodeRecord(acc)})
	}
	for sym, as := range s.assets {
		out = append(out, record{keyAsset(sym), encodeOld(s.base.Assets[sym]), encodeRecord(as)})
	}
	for k, b := range s.balances {
		var old, nw []byte
		if ob, ok := s.base.Balances[k]; ok {
			old = encodeRecord(&ob)
		}
		// An emptied holding is deleted, so state grows with holders, not with history.
		if b != (Balance{}) {
			nw = encodeRecord(&b)
		}
		if old == nil && nw == nil {
			continue
		}
		out = append(out, record{keyBalance(k), old, nw})
	}
	for id, st := range s.settlements {
		out = append(out, record{keySettlement(id), encodeOld(s.base.Settlements[id]), encodeRecord(st)})
	}
	if s.reserves != nil {
		out = append(out, record{keyReserves(), encodeRecord(&s.base.Reserves), encodeRecord(s.reserves)})
	}
	if s.stats != nil {
		out = append(out, record{keyStats(), encodeRecord(&s.base.Stats), encodeRecord(s.stats)})
	}
	return out
}

// encodeOld encodes a record that may not exist yet.
func encodeOld[T any, P interface {
	*T
	encode(*encoder)
}](v P) []byte {
	if v == nil {
		return nil
	}
	return encodeRecord(v)
}

// apply swaps the stage's records into the committed state.
func (s *stage) apply(st *State) {
	if s.params != nil {
		st.Params = *s.params
	}
	for id, m := range s.members {
		st.Members[id] = m
	}
	for a, acc := range s.accounts {
		st.Accounts[a] = acc
	}
	for sym, as := range s.assets {
		st.Assets[sym] = as
	}
	for k, b := range s.balances {
		if b == (Balance{}) {
			delete(st.Balances, k)
		} else {
			st.Balances[k] = b
		}
	}
	var opened []deadlineRef
	for id, se := range s.settlements {
		if _, existed := st.Settlements[id]; !existed && se.State == SettlementLocked {
			opened = append(opened, deadlineRef{se.Deadline, id})
		}
		if se.State != SettlementLocked && st.closed != nil {
			delete(st.Settlements, id)
			continue
		}
		st.Settlements[id] = se
	}
	if len(s.settlements) > 0 {
		st.updateOpen(s.settlements, opened)
	}
	if s.reserves != nil {
		st.Reserves = *s.reserves
	}
	if s.stats != nil {
		st.Stats = *s.stats
	}
	st.Height = s.height
}

// updateOpen updates the deadline index for the settlements a block changed and opened.
func (st *State) updateOpen(changed map[Hash]*Settlement, opened []deadlineRef) {
	kept := st.open[:0]
	for _, r := range st.open {
		if se, ok := changed[r.ID]; ok && se.State != SettlementLocked {
			continue
		}
		kept = append(kept, r)
	}
	st.open = append(kept, opened...)
	sort.Slice(st.open, func(i, j int) bool { return st.open[i].less(st.open[j]) })
}

// indexOpen rebuilds the deadline index from scratch, after loading.
func (st *State) indexOpen() {
	st.open = st.open[:0]
	for id, se := range st.Settlements {
		if se.State == SettlementLocked {
			st.open = append(st.open, deadlineRef{se.Deadline, id})
		}
	}
	sort.Slice(st.open, func(i, j int) bool { return st.open[i].less(st.open[j]) })
}
