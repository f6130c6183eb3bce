package loadgen

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// Bounds and periods of the sequencer.
const (
	// defaultMaxHold is how long a transaction is held at most, once it is the first of its
	// signer's held ones, for prerequisites that do not come (RunConfig.MaxHold).
	defaultMaxHold = 30 * time.Second
	// holdPoll is the least time between two looks at the ledger for held transactions.
	holdPoll = 100 * time.Millisecond
	// auditEvery is how often signers with transactions admitted a while ago but not known
	// to be in a block are looked up, and auditAge how long ago "a while" is.
	auditEvery = time.Second
	auditAge   = 2 * time.Second
	// stuckAfter is how long a signer's committed nonce may stay behind a transaction
	// admitted that long ago before its admitted transactions are sent again.
	stuckAfter = 3 * time.Second
	// flightTTL is how long an admitted transaction is kept for sending again; flightCap
	// bounds those kept per signer.
	flightTTL = 30 * time.Second
	flightCap = 4096
	// maxLookups bounds the account queries of one poll (the rest wait for the next), and
	// maxAuditLookups those of an audit among them; lookupWorkers run them.
	maxLookups      = 512
	maxAuditLookups = 128
	lookupWorkers   = 8
	// lookupWarnEvery bounds the warnings of failed lookups.
	lookupWarnEvery = 10 * time.Second
)

// sequencer keeps Run's submissions in causal order across signers. It holds back a
// transaction until the transactions of other signers it needs (Tx.Prerequisites) are in a
// block, and with it every later transaction of its signer, so that nonces stay in order,
// while the transactions of other signers go on. It learns what is in a block from the
// ledger's committed nonces (/account), which it caches per signer and looks up again only
// for signers being waited on, at most every holdPoll.
//
// It also mends nonce gaps. CometBFT's mempool may admit a signer's nonce n+1 before n when
// they arrive from two peers at once (it inserts a transaction after the application's
// CheckTx returns, outside the application's lock), and a proposer then puts n+1 before n in
// a block, where it fails with bad_nonce and is dropped; every later transaction of the
// signer fails the same way, although CheckTx at the node Run submits to, which counts the
// signer's admitted nonces, keeps admitting them. So the sequencer keeps each signer's
// admitted transactions until it sees them in a block, and when the signer's committed nonce
// stays behind them for stuckAfter, sends them again from the first missing one.
type sequencer struct {
	q       Querier
	log     *slog.Logger
	maxHold time.Duration
	stats   *Stats

	committed map[ledger.Address]uint64 // last committed nonce seen, per signer
	sent      map[ledger.Address]uint64 // highest nonce handed to the node, per signer
	queues    map[ledger.Address]*heldQueue
	held      int
	flights   map[ledger.Address]*flight
	lastPoll  time.Time
	lastAudit time.Time
	lastWarn  time.Time
}

type heldTx struct {
	tx    *Tx
	since time.Time
}

// heldQueue is one signer's held transactions, in stream order; head is when the first
// became first.
type heldQueue struct {
	txs  []heldTx
	head time.Time
}

type admittedTx struct {
	tx *Tx
	at time.Time
}

// flight is one signer's admitted transactions not yet seen in a block.
type flight struct {
	txs       []admittedTx
	committed uint64    // the committed nonce when last looked up
	movedAt   time.Time // when that last changed
	resentAt  time.Time
}

// newSequencer returns a sequencer looking at the ledger through q; with q nil it holds
// nothing back and mends nothing.
func newSequencer(q Querier, maxHold time.Duration, log *slog.Logger, stats *Stats) *sequencer {
	return &sequencer{
		q: q, log: log, maxHold: maxHold, stats: stats,
		committed: map[ledger.Address]uint64{}, sent: map[ledger.Address]uint64{},
		queues: map[ledger.Address]*heldQueue{}, flights: map[ledger.Address]*flight{},
	}
}

func (s *sequencer) enabled() bool { return s.q != nil && s.maxHold > 0 }

// admit takes generated transactions in stream order and returns those that may be
// submitted now, in order; it holds the others.
func (s *sequencer) admit(txs []*Tx, now time.Time) []*Tx {
	if !s.enabled() {
		return txs
	}
	ready := txs[:0:0]
	for _, tx := range txs {
		if q := s.queues[tx.Signer]; q != nil {
			q.txs = append(q.txs, heldTx{tx, now})
			s.hold()
			continue
		}
		if s.ready(tx) {
			ready = append(ready, tx)
			continue
		}
		s.queues[tx.Signer] = &heldQueue{txs: []heldTx{{tx, now}}, head: now}
		s.hold()
	}
	return ready
}

func (s *sequencer) hold() {
	s.held++
	s.stats.Held++
}

// ready reports whether every prerequisite of tx is known to be in a block.
func (s *sequencer) ready(tx *Tx) bool {
	for _, r := range tx.needs {
		n := r.nonce.Load()
		if n == refAwaiting {
			return false
		}
		if n != refNever && s.committed[r.signer] < n {
			return false
		}
	}
	return true
}

// submitted records the node's answer to tx: admitted to its mempool, or not checked (an
// RPC error: it may be there all the same).
func (s *sequencer) submitted(tx *Tx, admitted bool, now time.Time) {
	if !s.enabled() {
		return
	}
	s.sent[tx.Signer] = max(s.sent[tx.Signer], tx.Nonce)
	if !admitted {
		return
	}
	f := s.flights[tx.Signer]
	if f == nil {
		f = &flight{committed: s.committed[tx.Signer], movedAt: now}
		s.flights[tx.Signer] = f
	}
	if len(f.txs) >= flightCap {
		f.txs = f.txs[1:]
	}
	f.txs = append(f.txs, admittedTx{tx, now})
}

// due reports whether a poll has work to do now.
func (s *sequencer) due(now time.Time) bool {
	if !s.enabled() {
		return false
	}
	return (s.held > 0 && now.Sub(s.lastPoll) >= holdPoll) ||
		(len(s.flights) > 0 && now.Sub(s.lastAudit) >= auditEvery)
}

// pending reports whether transactions are held or admitted but not seen in a block.
func (s *sequencer) pending() bool { return s.held > 0 || len(s.flights) > 0 }

// poll looks up the committed nonces that matter now and returns the held transactions that
// may go, in stream order, and the admitted ones to send again.
func (s *sequencer) poll(ctx context.Context, now time.Time) (ready, resend []*Tx) {
	if !s.enabled() {
		return nil, nil
	}
	s.lastPoll = now
	audit := now.Sub(s.lastAudit) >= auditEvery
	if audit {
		s.lastAudit = now
	}
	want := map[ledger.Address]bool{}
	var audited []ledger.Address
	if audit {
		audited = s.auditees(now)
		for _, a := range audited {
			want[a] = true
		}
	}
	// Signers that held transactions wait for and that may have got there: a prerequisite
	// not handed to the node yet cannot be in a block.
collect:
	for _, q := range s.queues {
		for _, h := range q.txs {
			if len(want) >= maxLookups {
				break collect
			}
			for _, r := range h.tx.needs {
				n := r.nonce.Load()
				if n != refAwaiting && n != refNever && s.committed[r.signer] < n && s.sent[r.signer] >= n {
					want[r.signer] = true
				}
			}
		}
	}
	s.lookup(ctx, want)

	for _, a := range audited {
		if tx := s.mend(a, now); tx != nil {
			resend = append(resend, tx...)
		}
	}
	for signer, q := range s.queues {
		for len(q.txs) > 0 {
			h := q.txs[0]
			expired := now.Sub(q.head) >= s.maxHold
			if !expired && !s.ready(h.tx) {
				break
			}
			if expired {
				s.stats.HoldExpired++
				s.log.Warn("loadgen sending a held transaction whose prerequisites are not in a block",
					"tx", h.tx.Hash.String(), "signer", signer.String(), "held_for", now.Sub(h.since).Round(time.Millisecond))
			}
			wait := now.Sub(h.since)
			s.stats.HeldWait += wait
			s.stats.HeldMaxWait = max(s.stats.HeldMaxWait, wait)
			ready = append(ready, h.tx)
			q.txs[0] = heldTx{}
			q.txs = q.txs[1:]
			q.head = now
			s.held--
		}
		if len(q.txs) == 0 {
			delete(s.queues, signer)
		}
	}
	slices.SortFunc(ready, func(a, b *Tx) int { return compareSeq(a.Seq, b.Seq) })
	return ready, resend
}

func compareSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// auditees picks the signers to look up in an audit: those with a transaction admitted
// more than auditAge ago, the most transactions first. Transactions admitted more than
// flightTTL ago are given up on.
func (s *sequencer) auditees(now time.Time) []ledger.Address {
	var out []ledger.Address
	for a, f := range s.flights {
		i := 0
		for i < len(f.txs) && now.Sub(f.txs[i].at) > flightTTL {
			i++
		}
		f.txs = f.txs[i:]
		if len(f.txs) == 0 {
			delete(s.flights, a)
			continue
		}
		if now.Sub(f.txs[0].at) > auditAge {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b ledger.Address) int { return len(s.flights[b].txs) - len(s.flights[a].txs) })
	return out[:min(len(out), maxAuditLookups)]
}

// lookup refreshes the committed nonces of the signers in want, a few at a time.
func (s *sequencer) lookup(ctx context.Context, want map[ledger.Address]bool) {
	if len(want) == 0 {
		return
	}
	addrs := make([]ledger.Address, 0, len(want))
	for a := range want {
		addrs = append(addrs, a)
	}
	nonces := make([]uint64, len(addrs))
	errs := make([]error, len(addrs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(lookupWorkers, len(addrs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				v, err := queryJSON[accountView](ctx, s.q, "/account/"+addrs[i].String())
				if errors.Is(err, ErrNotFound) {
					err = nil // not registered yet: nothing of its is in a block
				}
				nonces[i], errs[i] = v.Nonce, err
			}
		}()
	}
	for i := range addrs {
		next <- i
	}
	close(next)
	wg.Wait()
	s.stats.NonceLookups += int64(len(addrs))
	var failed int
	var first error
	for i, a := range addrs {
		if errs[i] != nil {
			failed++
			first = cmp.Or(first, errs[i])
			continue
		}
		s.committed[a] = max(s.committed[a], nonces[i])
	}
	if failed > 0 && time.Since(s.lastWarn) >= lookupWarnEvery {
		s.lastWarn = time.Now()
		s.log.Warn("loadgen nonce lookups failed", "failed", failed, "of", len(addrs), "err", first)
	}
}

// mend drops the signer's admitted transactions now in a block and, when its committed
// nonce has stayed behind the rest for stuckAfter, returns them from the first missing one
// on, in nonce order, to be sent again.
func (s *sequencer) mend(a ledger.Address, now time.Time) []*Tx {
	f := s.flights[a]
	if f == nil {
		return nil
	}
	c := s.committed[a]
	if c != f.committed {
		f.committed, f.movedAt = c, now
	}
	rest := f.txs[:0]
	for _, x := range f.txs {
		if x.tx.Nonce > c {
			rest = append(rest, x)
		}
	}
	clear(f.txs[len(rest):])
	f.txs = rest
	if len(f.txs) == 0 {
		delete(s.flights, a)
		return nil
	}
	if now.Sub(f.txs[0].at) < stuckAfter || now.Sub(f.movedAt) < stuckAfter || now.Sub(f.resentAt) < stuckAfter {
		return nil
	}
	byNonce := make([]*Tx, len(f.txs))
	for i, x := range f.txs {
		byNonce[i] = x.tx
	}
	slices.SortStableFunc(byNonce, func(x, y *Tx) int { return compareSeq(x.Nonce, y.Nonce) })
	// Only a run of nonces from the first missing one can go through.
	var out []*Tx
	want := c + 1
	for _, tx := range byNonce {
		if tx.Nonce == want {
			out = append(out, tx)
			want++
		}
	}
	if len(out) == 0 {
		return nil
	}
	f.resentAt = now
	s.log.Info("loadgen sending a signer's transactions again: its committed nonce is stuck",
		"signer", a.String(), "committed_nonce", c, "txs", len(out))
	return out
}

// drop gives up every held transaction, for a run that cannot submit any more, and returns
// how many there were.
func (s *sequencer) drop() int {
	n := s.held
	clear(s.queues)
	clear(s.flights)
	s.held = 0
	return n
}
