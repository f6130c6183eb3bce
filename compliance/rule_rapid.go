package compliance

import (
	"context"
	"errors"
	"fmt"
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

func rapidRule() *Rule {
	return &Rule{
		ID: RuleRapid, Title: "Rapid in-and-out of funds", Severity: SeverityMedium, Subject: SubjectAccount,
		shares:   sharesCoinMoves,
		Source:   "PBOC Order [2016] No. 3, art. 11 (funds moved in and out quickly, little balance left)",
		defaults: func() Params { return &RapidParams{SharePct: 90, WindowSeconds: 3600, LeftPct: 10} },
		eval: func(ctx context.Context, e *Env, p Params, r Range) ([]Finding, error) {
			return evalRapid(ctx, e, p.(*RapidParams), r)
		},
	}
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
	var payers [][]byte
	seen := map[string]bool{}
	for _, m := range inRange {
		if m.from != nil && !seen[string(m.from)] {
			seen[string(m.from)] = true
			payers = append(payers, m.from)
		}
	}
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
	// Only the payers with a debit that might trip need their window read: one that leaves
	// more than left_pct of everything the account received in the window and the range so
	// far (a bound on what any reading counts as received) cannot.
	var pre map[string]int64
	if h1 > 0 && h1 < r.From {
		if pre, err = e.coinCredits(ctx, payers, h1, r.From-1, start, r.FromTime); err != nil {
			return nil, err
		}
	}
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
		if known && bal*100 > (pre[k]+bound[k])*p.LeftPct {
			continue
		}
		suspect[k] = true
		suspects = append(suspects, m.from)
	}
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
	type ev struct {
		m   *coinMove
		amt int64 // + credit, - debit
		// note is the event's evidence, made once: an event is evidence of every debit
		// after it in the window.
		note *Evidence
	}
	evidence := func(c *ev) Evidence {
		if c.note == nil {
			note := fmt.Sprintf("received %d fen (%s)", c.amt, c.m.kind)
			if c.amt < 0 {
				note = fmt.Sprintf("sent %d fen (%s)", -c.amt, c.m.kind)
			}
			c.note = &Evidence{Tx: hashHex(c.m.hash), Height: c.m.height, Time: c.m.time, Note: note}
		}
		return *c.note
	}
	evs := map[string][]*ev{}
	// credits is the sum of the credits in each account's window, kept as events enter and
	// leave it: no reading can count more as received, so a debit that leaves more than
	// left_pct of it in the account cannot trip, and is passed over without a look at the
	// window. Most debits of a working account are.
	credits := map[string]int64{}
	done := map[string]bool{} // account and tx already reported
	var out []Finding
	for i := range moves {
		m := &moves[i]
		for _, side := range []struct {
			a    []byte
			sign int64
		}{{m.to, 1}, {m.from, -1}} {
			if side.a == nil || !suspect[string(side.a)] {
				continue
			}
			k := string(side.a)
			list := append(evs[k], &ev{m: m, amt: side.sign * m.amount})
			if side.sign > 0 {
				credits[k] += m.amount
			}
			j := 0
			for j < len(list) && list[j].m.time.Before(m.time.Add(-w)) {
				if list[j].amt > 0 {
					credits[k] -= list[j].amt
				}
				j++
			}
			list = list[j:]
			evs[k] = list
			if side.sign > 0 || m.height < r.From || done[k+string(m.hash)] {
				continue
			}
			// The account's holding after the debit's block.
			bal, known := after.at(side.a, m.height)
			if known && bal*100 > credits[k]*p.LeftPct {
				continue
			}
			// One pass: the debits after a credit are the window's debits less those up to it.
			var in, outSum int64
			for _, c := range list {
				if c.amt > 0 {
					in += c.amt
				} else {
					outSum -= c.amt
				}
			}
			var tripped *Finding
			var upTo, received int64
			for _, c := range list {
				if c.amt < 0 {
					upTo -= c.amt
					continue
				}
				if after := outSum - upTo; after*100 >= c.amt*p.SharePct {
					tripped = &Finding{
						Summary: fmt.Sprintf("account received %d fen and sent %d fen (%d%%) on within %s", c.amt, after, after*100/c.amt, w),
						Figures: map[string]any{"received": c.amt, "sent_after": after, "share_pct": p.SharePct, "window_seconds": p.WindowSeconds, "reading": "per_receipt"},
					}
					received = c.amt
					break
				}
			}
			if tripped == nil && in > 0 && outSum*100 >= in*p.SharePct {
				tripped = &Finding{
					Summary: fmt.Sprintf("account's debits %d fen reached %d%% of its credits %d fen within %s", outSum, outSum*100/in, in, w),
					Figures: map[string]any{"received": in, "sent": outSum, "share_pct": p.SharePct, "window_seconds": p.WindowSeconds, "reading": "window"},
				}
				received = in
			}
			if tripped == nil || (known && bal > received*p.LeftPct/100) {
				continue
			}
			tripped.Figures["left_pct"] = p.LeftPct
			if known {
				tripped.Figures["balance_left"] = bal
			}
			done[k+string(m.hash)] = true
			// Only the last maxEvidence events are kept (capEvidence): make only those.
			trail := make([]Evidence, 0, min(len(list), maxEvidence))
			for _, c := range list[max(0, len(list)-maxEvidence):] {
				trail = append(trail, evidence(c))
			}
			a := e.acct(side.a)
			tripped.SubjectKind, tripped.Subject, tripped.Member, tripped.Asset = SubjectAccount, addrHex(side.a), a.sponsor, ledger.CoinSymbol
			tripped.WindowKey = hashHex(m.hash)
			tripped.Height, tripped.Time, tripped.LastHeight = m.height, m.time, m.height
			tripped.Evidence = trail
			out = append(out, *tripped)
		}
	}
	return out, nil
}
