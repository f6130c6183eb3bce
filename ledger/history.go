package ledger

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/cockroachdb/pebble"
)

// A snapshot reads the state as it was at a height: the committed state, with the values that
// later blocks replaced (the undo log) put back. At the current height it is the state itself.
type snapshot struct {
	st    *State
	store *diskStore
	h     int64
	// over holds, for every record changed after h, its value at h (nil: it did not exist).
	over map[string][]byte
}

// maxListHistory bounds how many blocks back a list query (assets, balances) may ask: it reads
// every change since, which grows with the distance.
const maxListHistory = 20_000

// snapshotAt must be called with the app's read lock held.
func (a *App) snapshotAt(h int64) (*snapshot, error) {
	cur := a.state.Height
	if h == 0 {
		h = cur
	}
	if h > cur || h < a.undoFloor-1 {
		return nil, fmt.Errorf("height %d is not kept: queries answer from %d to %d", h, max(a.undoFloor-1, 0), cur)
	}
	return &snapshot{st: a.state, store: a.store, h: h}, nil
}

// value returns the encoding of the record under key at the snapshot's height; cur is its
// current encoding (nil if it does not exist now).
func (s *snapshot) value(key, cur []byte) ([]byte, error) {
	if s.h == s.st.Height {
		return cur, nil
	}
	if s.over != nil {
		if v, ok := s.over[string(key)]; ok {
			return v, nil
		}
		return cur, nil
	}
	// The first change after h recorded what the value was at h.
	for k := s.h + 1; k <= s.st.Height; k++ {
		v, found, err := s.store.get(keyUndo(k, key))
		if err != nil {
			return nil, fmt.Errorf("undo log at %d: %w", k, err)
		}
		if found {
			return undone(v), nil
		}
	}
	return cur, nil
}

func undone(v []byte) []byte {
	if len(v) == 0 || v[0] == 0 {
		return nil
	}
	return v[1:]
}

// loadOverlay reads every change after h once, for queries that list many records.
func (s *snapshot) loadOverlay() error {
	if s.over != nil || s.h == s.st.Height {
		return nil
	}
	if s.st.Height-s.h > maxListHistory {
		return fmt.Errorf("lists are kept for the last %d heights; ask for single records further back", maxListHistory)
	}
	over := map[string][]byte{}
	it, err := s.store.db.NewIter(&pebble.IterOptions{LowerBound: keyUndoHeight(s.h + 1), UpperBound: keyUndoHeight(s.st.Height + 1)})
	if err != nil {
		return fmt.Errorf("undo log: %w", err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		key := string(it.Key()[9:])
		// Heights ascend, so the first entry of a key is the oldest change after h.
		if _, seen := over[key]; !seen {
			over[key] = append([]byte(nil), undone(it.Value())...)
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("undo log: %w", err)
	}
	s.over = over
	return nil
}

// changedKeys lists the keys under prefix that the overlay knows and the state may not.
func (s *snapshot) changedKeys(prefix byte) []string {
	var out []string
	for k := range s.over {
		if len(k) > 0 && k[0] == prefix {
			out = append(out, k)
		}
	}
	return out
}

func decodeInto(v []byte, rec interface{ decode(*decoder) }) error {
	d := decoder{buf: v}
	rec.decode(&d)
	return d.end("record")
}

// recordAt reads a record at the snapshot's height; cur is its current value (nil if none).
func recordAt[T any, P interface {
	*T
	encode(*encoder)
	decode(*decoder)
}](s *snapshot, key []byte, cur P) (P, error) {
	if s.h == s.st.Height {
		return cur, nil
	}
	v, err := s.value(key, encodeOld[T, P](cur))
	if err != nil || v == nil {
		return nil, err
	}
	out := P(new(T))
	return out, decodeInto(v, out)
}

// valueAt is recordAt for records held by value; a record that did not exist reads as zero.
func valueAt[T any, P interface {
	*T
	encode(*encoder)
	decode(*decoder)
}](s *snapshot, key []byte, cur T, exists bool) (T, error) {
	var now P
	if exists {
		now = &cur
	}
	old, err := recordAt[T, P](s, key, now)
	var zero T
	if err != nil || old == nil {
		return zero, err
	}
	return *old, nil
}

func (s *snapshot) account(a Address) (*Account, error) {
	return recordAt(s, keyAccount(a), s.st.Accounts[a])
}

func (s *snapshot) asset(sym string) (*Asset, error) {
	return recordAt(s, keyAsset(sym), s.st.Assets[sym])
}

func (s *snapshot) settlement(id Hash) (*Settlement, error) {
	cur, err := s.st.Settlement(id)
	if err != nil {
		return nil, err
	}
	return recordAt(s, keySettlement(id), cur)
}

func (s *snapshot) member(id string) (*Member, error) {
	return recordAt(s, keyMember(id), s.st.Members[id])
}

func (s *snapshot) balance(k BalanceKey) (Balance, error) {
	cur, ok := s.st.Balances[k]
	return valueAt(s, keyBalance(k), cur, ok)
}

func (s *snapshot) reserves() (Reserves, error) {
	return valueAt(s, keyReserves(), s.st.Reserves, true)
}

func (s *snapshot) stats() (Stats, error) {
	return valueAt(s, keyStats(), s.st.Stats, true)
}

// assets lists every asset at the height, by symbol.
func (s *snapshot) assets() ([]*Asset, error) {
	if err := s.loadOverlay(); err != nil {
		return nil, err
	}
	syms := map[string]bool{}
	for sym := range s.st.Assets {
		syms[sym] = true
	}
	for _, k := range s.changedKeys(prefixAsset) {
		syms[k[1:]] = true
	}
	keys := make([]string, 0, len(syms))
	for sym := range syms {
		keys = append(keys, sym)
	}
	sort.Strings(keys)
	var out []*Asset
	for _, sym := range keys {
		as, err := s.asset(sym)
		if err != nil {
			return nil, err
		}
		if as != nil {
			out = append(out, as)
		}
	}
	return out, nil
}

// members lists every member at the height, by id.
func (s *snapshot) members() ([]*Member, error) {
	if err := s.loadOverlay(); err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for id := range s.st.Members {
		ids[id] = true
	}
	for _, k := range s.changedKeys(prefixMember) {
		ids[k[1:]] = true
	}
	keys := make([]string, 0, len(ids))
	for id := range ids {
		keys = append(keys, id)
	}
	sort.Strings(keys)
	var out []*Member
	for _, id := range keys {
		m, err := s.member(id)
		if err != nil {
			return nil, err
		}
		if m != nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// BalanceEntry is one holding in a page of balances.
type BalanceEntry struct {
	Account Address `json:"account"`
	Asset   string  `json:"asset"`
	Amount  uint64  `json:"amount"`
	Locked  uint64  `json:"locked"`
}

// balancesPage lists holdings in (account, asset) order after the given one, at most limit.
func (s *snapshot) balancesPage(after BalanceKey, limit int) ([]BalanceEntry, error) {
	if err := s.loadOverlay(); err != nil {
		return nil, err
	}
	afterKey := keyBalance(after)
	if after.Account.IsZero() && after.Asset == "" {
		afterKey = nil
	}
	keys := make([][]byte, 0, len(s.st.Balances))
	seen := map[string]bool{}
	for k := range s.st.Balances {
		kb := keyBalance(k)
		seen[string(kb)] = true
		if afterKey == nil || bytes.Compare(kb, afterKey) > 0 {
			keys = append(keys, kb)
		}
	}
	for _, k := range s.changedKeys(prefixBalance) {
		if !seen[k] && (afterKey == nil || bytes.Compare([]byte(k), afterKey) > 0) {
			keys = append(keys, []byte(k))
		}
	}
	sort.Slice(keys, func(i, j int) bool { return bytes.Compare(keys[i], keys[j]) < 0 })
	out := make([]BalanceEntry, 0, min(limit, len(keys)))
	for _, kb := range keys {
		if len(out) == limit {
			break
		}
		var bk BalanceKey
		copy(bk.Account[:], kb[1:21])
		bk.Asset = string(kb[21:])
		b, err := s.balance(bk)
		if err != nil {
			return nil, err
		}
		if b == (Balance{}) {
			continue
		}
		out = append(out, BalanceEntry{Account: bk.Account, Asset: bk.Asset, Amount: b.Amount, Locked: b.Locked})
	}
	return out, nil
}
