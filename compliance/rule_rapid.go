package compliance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// RapidParams are the parameters of RAPID.
type RapidParams struct {
	// SharePct is x: the share of funds received that, sent on within the window, trips.
	SharePct int64 `json:"share_pct"`
	// WindowSeconds is t.
	WindowSeconds int64 `json:"window_seconds"`
	// LeftPct: the funds went through only if, after the debit's block, the account holds at
	// most this share of what it received. An account paying from money it already had is
	// not moving funds "in and out, with little balance left".
	LeftPct int64 `json:"left_pct"`
}

// Validate implements Params.
func (p *RapidParams) Validate() error {
	if p.SharePct <= 0 || p.SharePct > 100 {
		return errors.New("share_pct must be in (0, 100]")
	}
	if p.LeftPct < 0 || p.LeftPct > 100 {
		return errors.New("left_pct must be in [0, 100]")
	}
	if p.WindowSeconds <= 0 || p.WindowSeconds > 31*86400 {
		return errors.New("window_seconds must be in (0, 31 days]")
	}
	return nil
}

// evalRapid checks each coin debit in the range two ways: against each credit of the window
// before it (the debits since that credit reach x% of it), and as a sliding window (the
// window's debits reach x% of its credits). Mints count as credits and burns as debits. A
// debit that trips either way is a violation if the account is left with little: at most
// left_pct% of the funds received, after the debit's block (coinBalancesAfter).
func evalRapid(ctx context.Context, e *Env, p *RapidParams, r Range) ([]Finding, error) {
	inRange, err := e.coinMoves(ctx, r.From, r.To, r.FromTime, r.ToTime, nil)
	if err != nil {
		return nil, err
	}
	payers := payersOf(inRange)
	if len(payers) == 0 {
		return nil, nil
	}
	w := time.Duration(p.WindowSeconds) * time.Second
	start := r.FromTime.Add(-w)
	h1, err := e.heightAtOrAfter(ctx, start)
	if err != nil {
		return nil, err
	}
	after, err := e.coinBalancesAfter(ctx, inRange, payers, r.From)
	if err != nil {
		return nil, err
	}
	var pre map[string]int64
	if h1 > 0 && h1 < r.From {
		if pre, err = e.coinCredits(ctx, payers, h1, r.From-1, start, r.FromTime); err != nil {
			return nil, err
		}
	}
	suspects, suspect := rapidSuspects(inRange, after, pre, p.LeftPct)
	if len(suspects) == 0 {
		return nil, nil
	}
	moves, err := e.coinMoves(ctx, h1, r.To, start, r.ToTime, suspects)
	if err != nil {
		return nil, err
	}
	if err := e.loadAccounts(ctx, suspects); err != nil {
		return nil, err
	}
	s := &rapidScan{p: p, w: w, r: r, after: after, suspect: suspect,
		evs: map[string][]*rapidEvent{}, credits: map[string]int64{}, done: map[string]bool{}}
	return s.run(e, moves), nil
}

// payersOf returns the distinct accounts the moves debit, in first-seen order.
func payersOf(ms []coinMove) [][]byte {
	var out [][]byte
	seen := map[string]bool{}
	for _, m := range ms {
		if m.from != nil && !seen[string(m.from)] {
			seen[string(m.from)] = true
			out = append(out, m.from)
		}
	}
	return out
}

// rapidSuspects returns the payers with a debit in the range that might trip, in order of
// that debit, as a list and a set: only their windows need reading. One that leaves more
// than left_pct of everything the account received in the window (pre, before the range)
// and the range so far (a bound on what any reading counts as received) cannot.
func rapidSuspects(inRange []coinMove, after blockBalances, pre map[string]int64, leftPct int64) ([][]byte, map[string]bool) {
	bound := map[string]int64{}
	var suspects [][]byte
	suspect := map[string]bool{}
	for i := range inRange {
		m := &inRange[i]
		if m.to != nil {
			bound[string(m.to)] += m.amount
		}
		if m.from == nil || suspect[string(m.from)] {
			continue
		}
		k := string(m.from)
		bal, known := after.at(m.from, m.height)
		if known && bal*100 > (pre[k]+bound[k])*leftPct {
			continue
		}
		suspect[k] = true
		suspects = append(suspects, m.from)
	}
	return suspects, suspect
}

// rapidEvent is a coin movement in an account's window.
type rapidEvent struct {
	m   *coinMove
	amt int64 // + credit, - debit
	// note is the event's evidence, made once: an event is evidence of every debit after it
	// in the window.
	note *Evidence
}

// evidence is the event as evidence about its account: what the account received or sent,
// from or to whom.
func (c *rapidEvent) evidence(e *Env) Evidence {
	if c.note == nil {
		m := c.m
		accts := make([]EvidenceAccount, 0, 2)
		note := fmt.Sprintf("received %s in %s", coin(c.amt), coinMoveText(m.kind))
		if c.amt < 0 {
			note = fmt.Sprintf("sent %s in %s", coin(-c.amt), coinMoveText(m.kind))
			accts = append(accts, e.mover(m.from, "from", ledger.CoinSymbol, m.amount))
			if m.to != nil {
				accts = append(accts, e.party(m.to, "to"))
			}
		} else {
			accts = append(accts, e.mover(m.to, "to", ledger.CoinSymbol, m.amount))
			if m.from != nil {
				accts = append(accts, e.party(m.from, "from"))
			}
		}
		c.note = &Evidence{Tx: hashHex(m.hash), Height: m.height, Time: m.time, Note: note, Accounts: accts}
	}
	return *c.note
}

// rapidScan walks the suspects' coin movements in order, keeping each suspect's window.
type rapidScan struct {
	p       *RapidParams
	w       time.Duration
	r       Range
	after   blockBalances
	suspect map[string]bool
	evs     map[string][]*rapidEvent
	// credits is the sum of the credits in each account's window, kept as events enter and
	// leave it: no reading can count more as received, so a debit that leaves more than
	// left_pct of it in the account cannot trip, and is passed over without a look at the
	// window. Most debits of a working account are.
	credits map[string]int64
	done    map[string]bool // account and tx already reported
}

// run reports each debit in the range that trips.
func (s *rapidScan) run(e *Env, moves []coinMove) []Finding {
	var out []Finding
	for i := range moves {
		m := &moves[i]
		for _, side := range []struct {
			a    []byte
			sign int64
		}{{m.to, 1}, {m.from, -1}} {
			if side.a == nil || !s.suspect[string(side.a)] {
				continue
			}
			k := string(side.a)
			list := s.enter(k, m, side.sign)
			if side.sign > 0 || m.height < s.r.From || s.done[k+string(m.hash)] {
				continue
			}
			f := s.debit(e, k, m, list)
			if f == nil {
				continue
			}
			s.balanceAround(f, moves, i)
			s.done[k+string(m.hash)] = true
			a := e.acct(side.a)
			f.SubjectKind, f.Subject, f.Member, f.Asset = SubjectAccount, addrHex(side.a), a.sponsor, ledger.CoinSymbol
			f.WindowKey = hashHex(m.hash)
			f.Height, f.Time, f.LastHeight = m.height, m.time, m.height
			out = append(out, *f)
		}
	}
	return out
}

// balanceAround puts on the evidence of the debit moves[i], the last of f's, the paying
// account's coin balance before and after the debit's block: the balance after it is what
// the rule reads, and the one before is it less what the block moved in and out.
func (s *rapidScan) balanceAround(f *Finding, moves []coinMove, i int) {
	m := &moves[i]
	after, known := s.after.at(m.from, m.height)
	last := len(f.Evidence) - 1
	if !known || last < 0 || len(f.Evidence[last].Accounts) == 0 {
		return
	}
	var net int64
	for j := i; j >= 0 && moves[j].height == m.height; j-- {
		net += blockNet(&moves[j], m.from)
	}
	for j := i + 1; j < len(moves) && moves[j].height == m.height; j++ {
		net += blockNet(&moves[j], m.from)
	}
	ev := f.Evidence[last]
	// The event's evidence is shared with the later debits of the window: copy before setting.
	ev.Accounts = slices.Clone(ev.Accounts)
	ev.Accounts[0] = ev.Accounts[0].around(after-net, after)
	ev.Note += fmt.Sprintf("; the account held %s before the block and %s after it", coin(after-net), coin(after))
	f.Evidence[last] = ev
}

// blockNet is what move m added to account a's balance: its credit less its debit.
func blockNet(m *coinMove, a []byte) int64 {
	var n int64
	if bytes.Equal(m.to, a) {
		n += m.amount
	}
	if bytes.Equal(m.from, a) {
		n -= m.amount
	}
	return n
}

// enter adds m to account k's window as a credit (sign 1) or a debit (-1), drops the
// events that fell out of the window, and returns the window.
func (s *rapidScan) enter(k string, m *coinMove, sign int64) []*rapidEvent {
	list := append(s.evs[k], &rapidEvent{m: m, amt: sign * m.amount})
	if sign > 0 {
		s.credits[k] += m.amount
	}
	j := 0
	for j < len(list) && list[j].m.time.Before(m.time.Add(-s.w)) {
		if list[j].amt > 0 {
			s.credits[k] -= list[j].amt
		}
		j++
	}
	list = list[j:]
	s.evs[k] = list
	return list
}

// debit checks account k's debit m, the last event of its window list, and returns what it
// trips, with its figures and evidence, or nil.
func (s *rapidScan) debit(e *Env, k string, m *coinMove, list []*rapidEvent) *Finding {
	// The account's holding after the debit's block.
	bal, known := s.after.at(m.from, m.height)
	if known && bal*100 > s.credits[k]*s.p.LeftPct {
		return nil
	}
	tripped := rapidReading(list, s.p, s.w, func(received int64) bool { return !known || bal*100 <= received*s.p.LeftPct })
	if tripped == nil {
		return nil
	}
	tripped.Figures["left_pct"] = s.p.LeftPct
	if known {
		tripped.Figures["balance_left"] = bal
	}
	// Only the last maxEvidence events are kept (capEvidence): make only those.
	trail := make([]Evidence, 0, min(len(list), maxEvidence))
	for _, c := range list[max(0, len(list)-maxEvidence):] {
		trail = append(trail, c.evidence(e))
	}
	tripped.Evidence = trail
	return tripped
}

// rapidReading reads a debit's window both ways, as the definition does: each credit in
// turn (per receipt), then the whole window, and returns the summary and figures of the
// first reading whose debits reach share_pct of what it counts as received and for which
// left(received) holds (the account kept little of it), or nil. A reading that reaches the
// share but leaves too much does not end the search: a later credit, or the window, may
// still trip.
func rapidReading(list []*rapidEvent, p *RapidParams, w time.Duration, left func(received int64) bool) *Finding {
	// One pass: the debits after a credit are the window's debits less those up to it.
	var in, outSum int64
	for _, c := range list {
		if c.amt > 0 {
			in += c.amt
		} else {
			outSum -= c.amt
		}
	}
	var upTo int64
	for _, c := range list {
		if c.amt < 0 {
			upTo -= c.amt
			continue
		}
		if after := outSum - upTo; after*100 >= c.amt*p.SharePct && left(c.amt) {
			return &Finding{
				Summary: fmt.Sprintf("account received %s and sent %s (%d%%) on within %s", coin(c.amt), coin(after), after*100/c.amt, durationText(w)),
				Figures: map[string]any{"received": c.amt, "sent_after": after, "share_pct": p.SharePct, "window_seconds": p.WindowSeconds, "reading": "per_receipt"},
			}
		}
	}
	if in > 0 && outSum*100 >= in*p.SharePct && left(in) {
		return &Finding{
			Summary: fmt.Sprintf("account sent %s on within %s, %d%% of the %s it received", coin(outSum), durationText(w), outSum*100/in, coin(in)),
			Figures: map[string]any{"received": in, "sent": outSum, "share_pct": p.SharePct, "window_seconds": p.WindowSeconds, "reading": "window"},
		}
	}
	return nil
}
