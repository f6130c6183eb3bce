package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble"
)

// diskStore mirrors the state in a pebble database in the node home. A block's records and the
// commit point (height and digest) go in one synced batch, so the store is always at a block
// boundary: a crash loses at most the block being committed, which CometBFT's handshake
// replays.
type diskStore struct {
	db *pebble.DB
}

func openStore(dir string) (*diskStore, error) {
	db, err := pebble.Open(dir, storeOptions())
	if err != nil {
		return nil, fmt.Errorf("open app store %s: %w", dir, err)
	}
	return &diskStore{db: db}, nil
}

// memTableSize is the app store's memtable: pebble allocates it outside the Go heap, and
// keeps up to two while one flushes, so a node's RSS holds up to 128 MiB of them.
const memTableSize = 64 << 20

// maxOpenFiles bounds the table files the store keeps open. pebble's default of 1,000 is
// reached only by a store of many gigabytes, but a node runs for years and a devnet runs five
// stores in one process: the bound keeps the process's descriptors flat as the store grows.
const maxOpenFiles = 256

// storeOptions tunes pebble for what the app writes: a batch per block of every record the
// block changed and its undo entry, megabytes each at tens of thousands of txs a block. The
// 4 MiB default memtable flushed at nearly every block and kept an L0 compaction going
// beside block execution; a larger one absorbs the rewrites of the same accounts' records
// before they reach disk.
func storeOptions() *pebble.Options {
	o := &pebble.Options{Logger: quietPebble{}, MemTableSize: memTableSize, MaxOpenFiles: maxOpenFiles}
	o.EnsureDefaults()
	return o
}

func (s *diskStore) close() error { return s.db.Close() }

// commitPoint is where the store stands: the height, the digest of the state at it, and the
// lowest height from which the undo log is complete.
type commitPoint struct {
	height    int64
	digest    Digest
	undoFloor int64
}

const metaLen = 8 + digestLanes*8 + 8

// commit writes a block's changed records, the values they replaced (the undo log, when
// undo is set), and the new commit point. prune, if positive, drops undo entries below it.
func (s *diskStore) commit(cp commitPoint, recs []record, undo bool, prune int64) error {
	b := s.db.NewBatch()
	defer b.Close()
	for _, r := range recs {
		var err error
		if r.new == nil {
			err = b.Delete(r.key, nil)
		} else {
			err = b.Set(r.key, r.new, nil)
		}
		if err == nil && undo {
			err = b.Set(keyUndo(cp.height, r.key), undoValue(r.old), nil)
		}
		if err != nil {
			return fmt.Errorf("stage record: %w", err)
		}
	}
	if prune > 0 {
		if err := b.DeleteRange(keyUndoHeight(0), keyUndoHeight(prune), nil); err != nil {
			return fmt.Errorf("prune undo log: %w", err)
		}
	}
	height, d := cp.height, &cp.digest
	meta := binary.BigEndian.AppendUint64(nil, uint64(height))
	meta = append(meta, d.Bytes()...)
	meta = binary.BigEndian.AppendUint64(meta, uint64(cp.undoFloor))
	if err := b.Set(keyMeta(), meta, nil); err != nil {
		return fmt.Errorf("stage commit point: %w", err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("write block %d: %w", height, err)
	}
	return nil
}

// ErrStateCorrupt means the state on disk does not match the digest it was committed with:
// a record was altered, added or lost outside the app.
var ErrStateCorrupt = errors.New("app state does not match its committed digest")

// undoValue tags a replaced value: 0 for a record that did not exist, 1 and the value else.
func undoValue(old []byte) []byte {
	if old == nil {
		return []byte{0}
	}
	return append([]byte{1}, old...)
}

// get reads one key; found is false if it is absent.
func (s *diskStore) get(key []byte) (val []byte, found bool, err error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer closer.Close()
	return append([]byte(nil), v...), true, nil
}

// settlement reads a committed settlement; nil if there is none.
func (s *diskStore) settlement(id Hash) (*Settlement, error) {
	v, found, err := s.get(keySettlement(id))
	if err != nil || !found {
		return nil, err
	}
	se := &Settlement{}
	if err := decodeInto(v, se); err != nil {
		return nil, fmt.Errorf("%w: settlement %s: %v", ErrStateCorrupt, id, err)
	}
	return se, nil
}

// eachSettlement calls fn for every committed settlement, in id order.
func (s *diskStore) eachSettlement(fn func(*Settlement) error) error {
	lo := []byte{prefixSettlement}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: []byte{prefixSettlement + 1}})
	if err != nil {
		return fmt.Errorf("scan settlements: %w", err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		se := &Settlement{}
		if err := decodeInto(it.Value(), se); err != nil {
			return fmt.Errorf("%w: settlement record %x: %v", ErrStateCorrupt, it.Key(), err)
		}
		if err := fn(se); err != nil {
			return err
		}
	}
	return it.Error()
}

// load reads the whole state, recomputing its digest from every record and comparing it with
// the committed one. It returns nil for a store that has never been committed.
func (s *diskStore) load() (*State, int64, error) {
	meta, found, err := s.get(keyMeta())
	if err != nil {
		return nil, 0, fmt.Errorf("read commit point: %w", err)
	}
	if !found {
		return nil, 0, nil
	}
	if len(meta) != metaLen {
		return nil, 0, fmt.Errorf("%w: commit point of %d bytes", ErrStateCorrupt, len(meta))
	}
	want, _ := digestFromBytes(meta[8 : 8+digestLanes*8])
	floor := int64(binary.BigEndian.Uint64(meta[8+digestLanes*8:]))
	st, err := s.loadState(meta, want)
	return st, floor, err
}

func (s *diskStore) loadState(meta []byte, want Digest) (*State, error) {

	st := NewState()
	st.closed = s
	st.Height = int64(binary.BigEndian.Uint64(meta[:8]))
	it, err := s.db.NewIter(&pebble.IterOptions{UpperBound: keyMeta()})
	if err != nil {
		return nil, fmt.Errorf("scan app store: %w", err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		k, v := it.Key(), it.Value()
		if err := st.loadRecord(k, v); err != nil {
			return nil, fmt.Errorf("%w: record %x: %v", ErrStateCorrupt, k, err)
		}
		st.Digest.Add(k, v)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("scan app store: %w", err)
	}
	if st.Digest != want {
		return nil, fmt.Errorf("%w at height %d: recomputed app hash %X, committed %X",
			ErrStateCorrupt, st.Height, st.Digest.AppHash(), want.AppHash())
	}
	st.indexOpen()
	return st, nil
}

// loadRecord decodes one record into the state, checking that its key and content agree.
func (st *State) loadRecord(k, v []byte) error {
	if len(k) == 0 {
		return errors.New("empty key")
	}
	d := decoder{buf: v}
	switch k[0] {
	case prefixParams:
		st.Params.decode(&d)
	case prefixMember:
		m := &Member{}
		m.decode(&d)
		st.Members[m.ID] = m
		k2 := keyMember(m.ID)
		if string(k2) != string(k) {
			return errors.New("member key and id differ")
		}
	case prefixAccount:
		a := &Account{}
		a.decode(&d)
		if string(keyAccount(a.Address)) != string(k) {
			return errors.New("account key and address differ")
		}
		st.Accounts[a.Address] = a
	case prefixAsset:
		a := &Asset{}
		a.decode(&d)
		if string(keyAsset(a.Symbol)) != string(k) {
			return errors.New("asset key and symbol differ")
		}
		st.Assets[a.Symbol] = a
	case prefixBalance:
		if len(k) < 1+20+1 {
			return errors.New("short balance key")
		}
		var bk BalanceKey
		copy(bk.Account[:], k[1:21])
		bk.Asset = string(k[21:])
		var b Balance
		b.decode(&d)
		st.Balances[bk] = b
	case prefixSettlement:
		se := &Settlement{}
		se.decode(&d)
		if string(keySettlement(se.ID)) != string(k) {
			return errors.New("settlement key and id differ")
		}
		if se.State == SettlementLocked || st.closed == nil {
			st.Settlements[se.ID] = se
		}
	case prefixReserves:
		st.Reserves.decode(&d)
	case prefixStats:
		st.Stats.decode(&d)
	default:
		return fmt.Errorf("unknown prefix %#x", k[0])
	}
	return d.end("record")
}

// quietPebble routes pebble's informational chatter away and keeps its errors.
type quietPebble struct{}

func (quietPebble) Infof(string, ...interface{}) {}
func (quietPebble) Errorf(format string, args ...interface{}) {
	slog.Error("app store", "detail", fmt.Sprintf(format, args...))
}
func (quietPebble) Fatalf(format string, args ...interface{}) {
	slog.Error("app store fatal", "detail", fmt.Sprintf(format, args...))
	panic(fmt.Sprintf(format, args...))
}
