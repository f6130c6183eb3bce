package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// nonceLedger answers /account queries from a table of committed nonces and counts them.
type nonceLedger struct {
	mu      sync.Mutex
	nonces  map[ledger.Address]uint64
	queries map[ledger.Address]int
}

func (l *nonceLedger) Query(_ context.Context, path string) ([]byte, error) {
	a, err := ledger.ParseAddress(strings.TrimPrefix(path, "/account/"))
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.queries[a]++
	n, ok := l.nonces[a]
	if !ok {
		return nil, fmt.Errorf("%s: %w", path, ErrNotFound)
	}
	return json.Marshal(map[string]uint64{"Nonce": n})
}

func (l *nonceLedger) set(a ledger.Address, n uint64) {
	l.mu.Lock()
	l.nonces[a] = n
	l.mu.Unlock()
}

func testAddr(i byte) ledger.Address { return ledger.Address{i} }

// seqTx makes a transaction of signer with nonce, numbered seq, needing refs.
func seqTx(signer ledger.Address, nonce, seq uint64, refs ...*txRef) *Tx {
	tx := &Tx{Signer: signer, Nonce: nonce, Seq: seq, needs: refs, ref: &txRef{signer: signer}}
	tx.ref.nonce.Store(nonce)
	return tx
}

func names(txs []*Tx) []string {
	var out []string
	for _, tx := range txs {
		out = append(out, fmt.Sprintf("%d/%d", tx.Signer[0], tx.Nonce))
	}
	return out
}

// TestSequencerHolds walks the sequencer through holding and releasing transactions.
func TestSequencerHolds(t *testing.T) {
	ctx := context.Background()
	a, b, c := testAddr(1), testAddr(2), testAddr(3)
	led := &nonceLedger{nonces: map[ledger.Address]uint64{a: 0, b: 0, c: 0}, queries: map[ledger.Address]int{}}
	var stats Stats
	s := newSequencer(led, 5*time.Second, slog.New(slog.DiscardHandler), &stats)
	t0 := time.Unix(1_000_000, 0)

	// a1 is B's prerequisite; B's second transaction has none of its own but follows B's first.
	a1 := seqTx(a, 1, 1)
	b1 := seqTx(b, 1, 2, a1.ref)
	b2 := seqTx(b, 2, 3)
	c1 := seqTx(c, 1, 4)
	waiting := &txRef{signer: c} // a refused transaction due to be sent again
	c2 := seqTx(c, 2, 5)
	a2 := seqTx(a, 2, 6, waiting)

	steps := []struct {
		name    string
		at      time.Duration
		in      []*Tx
		commit  func()
		poll    bool
		want    []string
		queried map[ledger.Address]int // cumulative queries per signer
	}{
		{name: "independent and first-of-signer go, dependents wait", in: []*Tx{a1, b1, b2, c1},
			want: []string{"1/1", "3/1"}},
		{name: "a prerequisite not in a block keeps them", at: 100 * time.Millisecond, poll: true,
			want: nil, queried: map[ledger.Address]int{a: 1}},
		{name: "unresolved prerequisite holds a2; c2 goes", at: 150 * time.Millisecond, in: []*Tx{c2, a2},
			want: []string{"3/2"}},
		{name: "no look before the poll period", at: 180 * time.Millisecond, commit: func() { led.set(a, 1) }, poll: true,
			want: nil, queried: map[ledger.Address]int{a: 1}},
		{name: "committed: B's two go in order", at: 250 * time.Millisecond, poll: true,
			want: []string{"2/1", "2/2"}, queried: map[ledger.Address]int{a: 2}},
		{name: "resubmitted with a nonce, not in a block", at: 400 * time.Millisecond,
			commit: func() { waiting.nonce.Store(3) }, poll: true, want: nil},
		{name: "past the hold limit it goes anyway", at: 5200 * time.Millisecond, poll: true,
			want: []string{"1/2"}},
	}
	for _, st := range steps {
		now := t0.Add(st.at)
		if st.commit != nil {
			st.commit()
		}
		var got []*Tx
		if st.in != nil {
			got = append(got, s.admit(st.in, now)...)
			for _, tx := range got {
				s.submitted(tx, true, now)
			}
		}
		if st.poll && s.due(now) {
			ready, _ := s.poll(ctx, now)
			for _, tx := range ready {
				s.submitted(tx, true, now)
			}
			got = append(got, ready...)
		}
		if !slices.Equal(names(got), st.want) {
			t.Errorf("%s: sent %v, want %v", st.name, names(got), st.want)
		}
		for addr, n := range st.queried {
			if led.queries[addr] != n {
				t.Errorf("%s: %d queries of %d, want %d (all: %v)", st.name, led.queries[addr], addr[0], n, led.queries)
			}
		}
	}
	if stats.Held != 3 || stats.HoldExpired != 1 {
		t.Errorf("held %d, expired %d; want 3 and 1", stats.Held, stats.HoldExpired)
	}
	if stats.HeldMaxWait != 5050*time.Millisecond {
		t.Errorf("longest wait %v, want 5.05s", stats.HeldMaxWait)
	}
}

// TestSequencerMendsNonceGaps: a signer whose committed nonce stays behind transactions the
// node admitted a while ago gets them sent again, from the first missing nonce, in order.
func TestSequencerMendsNonceGaps(t *testing.T) {
	ctx := context.Background()
	a := testAddr(1)
	led := &nonceLedger{nonces: map[ledger.Address]uint64{a: 0}, queries: map[ledger.Address]int{}}
	var stats Stats
	s := newSequencer(led, 5*time.Second, slog.New(slog.DiscardHandler), &stats)
	t0 := time.Unix(1_000_000, 0)
	var txs []*Tx
	for n := uint64(1); n <= 5; n++ {
		txs = append(txs, seqTx(a, n, n))
	}
	for _, tx := range s.admit(txs, t0) {
		s.submitted(tx, true, t0)
	}
	// Nonces 1 and 2 reach a block; 3 was put after 4 and 5 there, which failed and are gone.
	led.set(a, 3)
	var resent [][]*Tx
	for at := time.Duration(0); at <= 10*time.Second; at += holdPoll {
		now := t0.Add(at)
		if !s.due(now) {
			continue
		}
		if _, again := s.poll(ctx, now); len(again) > 0 {
			resent = append(resent, again)
			if len(resent) == 1 {
				led.set(a, 5) // the second copies go through
			}
		}
	}
	if len(resent) != 1 || !slices.Equal(names(resent[0]), []string{"1/4", "1/5"}) {
		t.Fatalf("sent again %v, want once 1/4 and 1/5", resent)
	}
	if s.pending() {
		t.Errorf("transactions in a block still watched: %d signers", len(s.flights))
	}
	if led.queries[a] > 12 {
		t.Errorf("%d queries in ten seconds", led.queries[a])
	}
}
