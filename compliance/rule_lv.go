package compliance

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// Large-value thresholds of PBOC Order [2016] No. 3, in fen.
const (
	defaultLVInstitution = 2_000_000_00
	defaultLVIndividual  = 500_000_00
)

// LVParams are the parameters of LV-INST and LV-IND.
type LVParams struct {
	// Threshold is the daily sum of coin debits and credits, in fen, at or above which an
	// account is reported.
	Threshold int64 `json:"threshold"`
}

// Validate implements Params.
func (p *LVParams) Validate() error {
	if p.Threshold <= 0 {
		return errors.New("threshold must be positive")
	}
	return nil
}

// lvFamily is the window state of the large-value rules: what each account moved in coin
// on a Shanghai day, keyed day|account. It does not depend on the thresholds, so both rules
// and every version of them share it.
const lvFamily = "lv-day"

// lvSum is an account's coin moved on a day, and in how many movements.
type lvSum struct {
	Sum   int64 `json:"sum"`
	Count int   `json:"count"`
}

// lvKey is an account's lvFamily key on a day.
func lvKey(day string, a []byte) string { return day + "|" + addrHex(a) }

// lvDay is what LV-INST and LV-IND share in a pass: the accounts its range touched, what
// each had moved on the range's first market day before the range, and the movements to
// fold on top, in order.
type lvDay struct {
	accts [][]byte
	// day is the range's first market day; h1 and start are its first block and its start.
	day   string
	h1    int64
	start time.Time
	// base is, for accounts whose state the pass starts from, what they moved that day
	// before the range; the earlier movements of the others are at the head of moves.
	base  map[string]lvSum
	moves []coinMove
}

// lvDay loads the day's movements of the accounts a range touched, once per range for both
// LV rules: those in the range, and what came before in the day from the state or, for an
// account the state does not cover, from the history. It records the state after the range.
func (e *Env) lvDay(ctx context.Context, r Range) (*lvDay, error) {
	k := moveRange{r.From, r.To, r.FromTime.UnixNano(), r.ToTime.UnixNano()}
	if d, ok := e.lv[k]; ok {
		return d, nil
	}
	inRange, err := e.coinMoves(ctx, r.From, r.To, r.FromTime, r.ToTime, nil)
	if err != nil {
		return nil, err
	}
	d := &lvDay{accts: touched(inRange), day: marketDay(r.FromTime), start: dayStart(r.FromTime), base: map[string]lvSum{}}
	if err := e.loadAccounts(ctx, d.accts); err != nil {
		return nil, err
	}
	if d.h1, err = e.heightAtOrAfter(ctx, d.start); err != nil {
		return nil, err
	}
	if len(d.accts) > 0 && d.h1 > 0 && d.h1 < r.From {
		keys := make([]string, len(d.accts))
		for i, a := range d.accts {
			keys[i] = lvKey(d.day, a)
		}
		states, err := e.priorStates(ctx, lvFamily, keys, r)
		if err != nil {
			return nil, err
		}
		covered, err := e.coveredFrom(ctx, lvFamily, d.h1, r)
		if err != nil {
			return nil, err
		}
		var uncovered [][]byte
		for i, a := range d.accts {
			raw, ok := states[keys[i]]
			if !ok {
				if !covered {
					uncovered = append(uncovered, a)
				}
				continue
			}
			var s lvSum
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, fmt.Errorf("rule state %s %s: %w", lvFamily, keys[i], err)
			}
			d.base[string(a)] = s
		}
		if len(uncovered) > 0 {
			if d.moves, err = e.coinMoves(ctx, d.h1, r.From-1, d.start, r.FromTime, uncovered); err != nil {
				return nil, err
			}
		}
	}
	if d.moves == nil {
		// The cached load itself, read only; clipped, so that no append could reach into it.
		// Copying it took a third of this function's time on a range of 200 full blocks.
		d.moves = slices.Clip(inRange)
	} else {
		d.moves = append(d.moves, inRange...)
	}
	if err := e.putLVDay(ctx, d, r); err != nil {
		return nil, err
	}
	e.lv[k] = d
	return d, nil
}

// putLVDay records, for each account that moved on the range's last day, what it moved that
// day up to the range's end, and that the days before are done with.
func (e *Env) putLVDay(ctx context.Context, d *lvDay, r Range) error {
	last := dayStart(r.ToTime)
	lastDay := marketDay(last)
	sums := map[string]lvSum{}
	if lastDay == d.day {
		for a, s := range d.base {
			sums[a] = s
		}
	}
	for i := range d.moves {
		m := &d.moves[i]
		if m.time.Before(last) {
			continue
		}
		for _, a := range [][]byte{m.from, m.to} {
			if a != nil {
				s := sums[string(a)]
				s.Sum += m.amount
				s.Count++
				sums[string(a)] = s
			}
		}
	}
	if err := e.keepState(ctx, lvFamily, lastDay, r); err != nil {
		return err
	}
	for _, a := range sortedStrings(sums) {
		if err := e.putState(lvFamily, lvKey(lastDay, []byte(a)), r, sums[a]); err != nil {
			return err
		}
	}
	return nil
}

// lvNote is movement m as evidence for account a, on its side ("paid" or "received"): the
// account with its day's sum before and after m, which is what the rule reads, and the
// other party.
func (e *Env) lvNote(a []byte, m *coinMove, side string, after int64) Evidence {
	role := "to"
	if side == "paid" {
		role = "from"
	}
	accts := make([]EvidenceAccount, 0, 2)
	accts = append(accts, e.mover(a, role, ledger.CoinSymbol, m.amount).around(after-m.amount, after))
	other, otherRole := m.to, "to"
	if role == "to" {
		other, otherRole = m.from, "from"
	}
	if other != nil {
		accts = append(accts, e.party(other, otherRole))
	}
	return Evidence{Tx: hashHex(m.hash), Height: m.height, Time: m.time, Accounts: accts,
		Note: fmt.Sprintf("%s %s in %s; the account's sum for the day went from %s to %s",
			side, coin(m.amount), coinMoveText(m.kind), coin(after-m.amount), coin(after))}
}

// lvEval is the evaluation of the large-value rule of the accounts of kind (institution,
// or individual: any other).
func lvEval(kind string) func(context.Context, *Env, *LVParams, Range) ([]Finding, error) {
	return func(ctx context.Context, e *Env, p *LVParams, r Range) ([]Finding, error) {
		return evalLV(ctx, e, kind, p, r)
	}
}

// evalLV sums each account's coin debits and credits (transfers, DvP cash legs, mints and
// burns) over its Shanghai day, and reports the movement that takes the sum to the threshold.
func evalLV(ctx context.Context, e *Env, kind string, p *LVParams, r Range) ([]Finding, error) {
	d, err := e.lvDay(ctx, r)
	if err != nil {
		return nil, err
	}
	want := lvAccounts(e, d.accts, kind)
	if len(want) == 0 {
		return nil, nil
	}
	firstDay := shanghaiDayNumber(r.FromTime)
	days := map[lvDayKey]*lvAcctDay{}
	// short are the findings whose trail lacks movements the state stands for: their
	// evidence is completed from the history after the loop.
	var short []int
	var out []Finding
	moves := d.moves
	for i := range moves {
		m := &moves[i]
		day := shanghaiDayNumber(m.time)
		for _, side := range []struct {
			a    []byte
			note string
		}{{m.from, "paid"}, {m.to, "received"}} {
			if side.a == nil || !want[string(side.a)] {
				continue
			}
			k := lvDayKey{string(side.a), day}
			ad := days[k]
			if ad == nil {
				ad = &lvAcctDay{}
				if day == firstDay {
					b := d.base[k.acct]
					ad.sum, ad.count = b.Sum, b.Count
				}
				days[k] = ad
			}
			before := ad.sum
			ad.add(m, side.note)
			if before < p.Threshold && ad.sum >= p.Threshold && m.height >= r.From {
				f := lvFinding(e, kind, p.Threshold, side.a, m, ad)
				if day == firstDay && d.base[k.acct].Count > 0 && len(f.Evidence) < maxEvidence {
					short = append(short, len(out))
				}
				out = append(out, f)
			}
		}
	}
	if err := e.lvEarlierEvidence(ctx, d, r, out, short); err != nil {
		return nil, err
	}
	return out, nil
}

// lvAccounts returns the set of accts of the rule's kind: institution, or any other.
func lvAccounts(e *Env, accts [][]byte, kind string) map[string]bool {
	want := map[string]bool{}
	for _, a := range accts {
		if isInst := e.acct(a).kind == "institution"; isInst == (kind == "institution") {
			want[string(a)] = true
		}
	}
	return want
}

// lvDayKey is an account and a Shanghai day number.
type lvDayKey struct {
	acct string
	day  int64
}

// lvAcctDay is an account's day: its sum so far, and a trail that keeps at least the day's
// last maxEvidence movements, trimmed in bulk so that a movement costs no copy of them;
// evidence is made only for a finding.
type lvAcctDay struct {
	sum   int64
	count int
	trail []lvMark
}

// lvMark is a movement on a trail, with the account's side of it.
type lvMark struct {
	m    *coinMove
	note string
	// after is the account's sum for the day after m.
	after int64
}

// add counts m, on the account's side note.
func (ad *lvAcctDay) add(m *coinMove, note string) {
	ad.sum += m.amount
	ad.count++
	ad.trail = append(ad.trail, lvMark{m, note, ad.sum})
	if len(ad.trail) > 2*maxEvidence {
		ad.trail = append(ad.trail[:0], ad.trail[len(ad.trail)-maxEvidence:]...)
	}
}

// lvFinding reports account a's day ad, which m took to the threshold.
func lvFinding(e *Env, kind string, threshold int64, a []byte, m *coinMove, ad *lvAcctDay) Finding {
	t := ad.trail
	ev := make([]Evidence, 0, maxEvidence)
	for _, x := range t[max(0, len(t)-maxEvidence):] {
		ev = append(ev, e.lvNote(a, x.m, x.note, x.after))
	}
	dayText := marketDay(m.time)
	return Finding{
		SubjectKind: SubjectAccount, Subject: addrHex(a), WindowKey: dayText, Member: e.acct(a).sponsor,
		Asset: ledger.CoinSymbol, Height: m.height, Time: m.time, LastHeight: m.height,
		Summary: fmt.Sprintf("%s account moved %s on %s, at or above the %s large-value threshold",
			kind, coin(ad.sum), dayText, coin(threshold)),
		Figures:  map[string]any{"day": dayText, "sum": ad.sum, "threshold": threshold, "movements": ad.count},
		Evidence: ev,
	}
}

// lvEarlierEvidence puts in front of the evidence of each finding in short the account's
// movements of the day before the range, up to maxEvidence in all: the state the pass
// started from holds their sum, not them.
func (e *Env) lvEarlierEvidence(ctx context.Context, d *lvDay, r Range, out []Finding, short []int) error {
	if len(short) == 0 {
		return nil
	}
	var accts [][]byte
	bySubject := map[string][]byte{}
	for _, i := range short {
		if _, ok := bySubject[out[i].Subject]; !ok {
			a, err := hex.DecodeString(out[i].Subject)
			if err != nil {
				return fmt.Errorf("finding subject %q: %w", out[i].Subject, err)
			}
			bySubject[out[i].Subject] = a
			accts = append(accts, a)
		}
	}
	earlier, err := e.coinMoves(ctx, d.h1, r.From-1, d.start, r.FromTime, accts)
	if err != nil {
		return err
	}
	for _, i := range short {
		a := bySubject[out[i].Subject]
		// earlier is all the account moved that day before the range, in order: its sums
		// run from zero.
		var ev []Evidence
		var sum int64
		for j := range earlier {
			m := &earlier[j]
			if bytes.Equal(m.from, a) {
				sum += m.amount
				ev = append(ev, e.lvNote(a, m, "paid", sum))
			}
			if bytes.Equal(m.to, a) {
				sum += m.amount
				ev = append(ev, e.lvNote(a, m, "received", sum))
			}
		}
		keep := maxEvidence - len(out[i].Evidence)
		out[i].Evidence = append(ev[max(0, len(ev)-keep):], out[i].Evidence...)
	}
	return nil
}
