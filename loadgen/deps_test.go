package loadgen

import (
	"slices"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// scheduler plays a block proposer that orders the transactions of different signers as
// badly as it may: each block takes every pending transaction whose signer's earlier ones
// are in it or before it, and (unless blind) whose prerequisites are in earlier blocks, and
// puts the signers that came last in the stream first.
type scheduler struct {
	blind     bool // ignore prerequisites
	committed map[ledger.Address]uint64
	pending   []*Tx
	held      int // transactions that missed a block for their prerequisites
}

func (s *scheduler) block(txs []*Tx) []*Tx {
	s.pending = append(s.pending, txs...)
	blocked := map[ledger.Address]bool{}
	var in, rest []*Tx
	for _, tx := range s.pending {
		if !blocked[tx.Signer] && (s.blind || s.ready(tx)) {
			in = append(in, tx)
			continue
		}
		if !blocked[tx.Signer] {
			s.held++
		}
		blocked[tx.Signer] = true
		rest = append(rest, tx)
	}
	s.pending = rest
	// Group by signer, groups in reverse order of their first transaction, each in order.
	first := map[ledger.Address]uint64{}
	for _, tx := range in {
		if _, ok := first[tx.Signer]; !ok {
			first[tx.Signer] = tx.Seq
		}
	}
	slices.SortStableFunc(in, func(a, b *Tx) int { return compareSeq(first[b.Signer], first[a.Signer]) })
	for _, tx := range in {
		s.committed[tx.Signer] = max(s.committed[tx.Signer], tx.Nonce)
	}
	return in
}

func (s *scheduler) ready(tx *Tx) bool {
	reqs, unresolved := tx.Prerequisites()
	if unresolved {
		return false
	}
	for _, r := range reqs {
		if s.committed[r.Signer] < r.Nonce {
			return false
		}
	}
	return true
}

// TestPrerequisitesSuffice executes the stream, setup and scenarios included, in the worst
// order a proposer could choose that respects each signer's nonces and puts every
// transaction in a block after its prerequisites: everything must still do what the generator
// expects. The same order ignoring the prerequisites must not, or the test proves nothing.
func TestPrerequisitesSuffice(t *testing.T) {
	tests := []struct {
		name       string
		seed       uint64
		violations float64
		blocks     int
		blind      bool
	}{
		{"clean", 1, 0, 90, false},
		{"scenarios", 2, 0.02, 90, false},
		{"scenarios, prerequisites ignored", 2, 0.02, 20, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := NewSimClock(DefaultStart)
			g := testGeneratorOf(t, Config{
				Seed: tt.seed, Violations: tt.violations, Clock: clock, Population: 150, Session: AlwaysOpen,
			})
			c := newChain(t, DefaultStart)
			s := &scheduler{blind: tt.blind, committed: map[ledger.Address]uint64{}}
			for range tt.blocks {
				c.exec(clock.Now(), s.block(g.Next(100)))
				clock.Advance(time.Second)
			}
			g.Drain()
			for i := 0; g.Pending() > 0 || len(s.pending) > 0; i++ {
				if i > 1000 {
					t.Fatalf("drain does not end: %d steps and %d transactions pending", g.Pending(), len(s.pending))
				}
				c.exec(clock.Now(), s.block(g.Next(100)))
				clock.Advance(time.Second)
			}
			t.Logf("%d txs in %d blocks, %d held for prerequisites; by code %v; scenarios %v",
				c.txs, c.height, s.held, c.byCode, g.Started())
			if tt.blind {
				if c.unexpected == 0 {
					t.Error("ignoring the prerequisites, every transaction still did what was expected")
				}
				return
			}
			if c.unexpected != 0 {
				t.Errorf("%d of %d transactions did not do what the generator expected", c.unexpected, c.txs)
			}
			if s.held == 0 {
				t.Error("no transaction waited for a prerequisite")
			}
			if tt.violations > 0 && len(c.labels) == 0 {
				t.Error("no scenario transaction executed")
			}
		})
	}
}

// TestPrerequisitesOfKinds checks the prerequisites of typical transactions.
func TestPrerequisitesOfKinds(t *testing.T) {
	clock := NewSimClock(DefaultStart)
	g := testGeneratorOf(t, Config{Seed: 3, Clock: clock, Population: 150, Session: AlwaysOpen})
	var txs []*Tx
	for range 30 {
		txs = append(txs, g.Next(200)...)
		clock.Advance(time.Second)
	}
	bySeq := map[*txRef]*Tx{}
	for _, tx := range txs {
		bySeq[tx.ref] = tx
	}
	// needsOf lists the types of the transactions tx needs.
	needsOf := func(tx *Tx) map[ledger.TxType]int {
		out := map[ledger.TxType]int{}
		for _, r := range tx.needs {
			if p := bySeq[r]; p != nil {
				out[p.Type]++
				if p.Seq >= tx.Seq {
					t.Errorf("%s seq %d needs %s seq %d, generated later", tx.Type, tx.Seq, p.Type, p.Seq)
				}
				if p.Signer == tx.Signer {
					t.Errorf("%s seq %d needs its own signer's %s", tx.Type, tx.Seq, p.Type)
				}
			}
		}
		return out
	}
	tests := []struct {
		name string
		// match picks the transactions the row is about.
		match func(*Tx) bool
		// need is a type of transaction each of them (or, with some, at least one) must need.
		need ledger.TxType
		some bool
	}{
		{"setup mints need registrations", func(tx *Tx) bool {
			m, ok := tx.body.(*ledger.Mint)
			return ok && tx.Seq < 1500 && g.byAddr[m.To].sponsor != g.byAddr[tx.Signer].member
		}, ledger.TxRegisterAccount, false},
		{"confirmations need their locks", func(tx *Tx) bool { return tx.Type == ledger.TxConfirmPayment }, ledger.TxLockForSettlement, false},
		{"a newly onboarded client's first payment needs its funding", func(tx *Tx) bool {
			a := g.byAddr[tx.Signer]
			return tx.Type == ledger.TxTransfer && a != nil && a.reg != nil && a.reg.at >= DefaultStart.Unix()+25
		}, ledger.TxMint, true},
		{"DvPs of new clients need registrations", func(tx *Tx) bool {
			b, ok := tx.body.(*ledger.SettleDvP)
			if !ok {
				return false
			}
			buyer := g.byAddr[b.Buyer]
			return buyer.reg != nil && buyer.reg.at >= DefaultStart.Unix()+25
		}, ledger.TxRegisterAccount, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var matched, with int
			for _, tx := range txs {
				if !tt.match(tx) {
					continue
				}
				matched++
				if needsOf(tx)[tt.need] > 0 {
					with++
				} else if !tt.some && matched-with <= 3 {
					t.Errorf("%s seq %d needs %v, no %s", tx.Type, tx.Seq, needsOf(tx), tt.need)
				}
			}
			if matched == 0 {
				t.Fatal("no such transaction generated")
			}
			if with == 0 {
				t.Errorf("none of %d needs a %s", matched, tt.need)
			}
			t.Logf("%d of %d need a %s", with, matched, tt.need)
		})
	}
}
