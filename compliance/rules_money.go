package compliance

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

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

func lvRule(id string) *Rule {
	kind, def, title := "individual", int64(defaultLVIndividual), "Large-value transfer, individual"
	if id == RuleLVInst {
		kind, def, title = "institution", defaultLVInstitution, "Large-value transfer, institution"
	}
	return &Rule{
		ID: id, Title: title, Severity: SeverityMedium, Subject: SubjectAccount,
		shares:   sharesCoinMoves,
		Source:   "PBOC Order [2016] No. 3 (Measures for Large-Value and Suspicious Transaction Reports), art. 5",
		defaults: func() Params { return &LVParams{Threshold: def} },
		eval: func(ctx context.Context, e *Env, p Params, r Range) ([]Finding, error) {
			return evalLV(ctx, e, id, kind, p.(*LVParams), r)
		},
	}
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

// lvNote is a movement's evidence for the account on side ("paid" or "received").
func lvNote(m *coinMove, side string) Evidence {
	return Evidence{Tx: hashHex(m.hash), Height: m.height, Time: m.time, Note: fmt.Sprintf("%s %s (%s)", side, coin(m.amount), m.kind)}
}

// evalLV sums each account's coin debits and credits (transfers, DvP cash legs, mints and
// burns) over its Shanghai day, and reports the movement that takes the sum to the threshold.
func evalLV(ctx context.Context, e *Env, id, kind string, p *LVParams, r Range) ([]Finding, error) {
	d, err := e.lvDay(ctx, r)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, a := range d.accts {
		if isInst := e.acct(a).kind == "institution"; isInst == (kind == "institution") {
			want[string(a)] = true
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	type mark struct {
		m    *coinMove
		note string
	}
	// An account's day: its sum so far, and a trail that keeps at least the day's last
	// maxEvidence movements, trimmed in bulk so that a movement costs no copy of them;
	// evidence is made only for a finding.
	type acctDay struct {
		sum   int64
		count int
		trail []mark
	}
	type dayKey struct {
		acct string
		day  int64 // Shanghai day number
	}
	firstDay := shanghaiDayNumber(r.FromTime)
	days := map[dayKey]*acctDay{}
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
			k := dayKey{string(side.a), day}
			ad := days[k]
			if ad == nil {
				ad = &acctDay{}
				if day == firstDay {
					b := d.base[k.acct]
					ad.sum, ad.count = b.Sum, b.Count
				}
				days[k] = ad
			}
			before := ad.sum
			ad.sum += m.amount
			ad.count++
			ad.trail = append(ad.trail, mark{m, side.note})
			if len(ad.trail) > 2*maxEvidence {
				ad.trail = append(ad.trail[:0], ad.trail[len(ad.trail)-maxEvidence:]...)
			}
			if before < p.Threshold && ad.sum >= p.Threshold && m.height >= r.From {
				t := ad.trail
				ev := make([]Evidence, 0, maxEvidence)
				for _, x := range t[max(0, len(t)-maxEvidence):] {
					ev = append(ev, lvNote(x.m, x.note))
				}
				if day == firstDay && d.base[k.acct].Count > 0 && len(ev) < maxEvidence {
					short = append(short, len(out))
				}
				a := e.acct(side.a)
				dayText := marketDay(m.time)
				out = append(out, Finding{
					SubjectKind: SubjectAccount, Subject: addrHex(side.a), WindowKey: dayText, Member: a.sponsor,
					Asset: ledger.CoinSymbol, Height: m.height, Time: m.time, LastHeight: m.height,
					Summary: fmt.Sprintf("%s account moved %s on %s, at or above the %s large-value threshold",
						kind, coin(ad.sum), dayText, coin(p.Threshold)),
					Figures:  map[string]any{"day": dayText, "sum": ad.sum, "threshold": p.Threshold, "movements": ad.count},
					Evidence: ev,
				})
			}
		}
	}
	if err := e.lvEarlierEvidence(ctx, d, r, out, short); err != nil {
		return nil, err
	}
	return out, nil
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
		var ev []Evidence
		for j := range earlier {
			m := &earlier[j]
			if bytes.Equal(m.from, a) {
				ev = append(ev, lvNote(m, "paid"))
			}
			if bytes.Equal(m.to, a) {
				ev = append(ev, lvNote(m, "received"))
			}
		}
		keep := maxEvidence - len(out[i].Evidence)
		out[i].Evidence = append(ev[max(0, len(ev)-keep):], out[i].Evidence...)
	}
	return nil
}

// StructParams are the parameters of STRUCT.
type StructParams struct {
	// RatioBP is k in basis points: a transfer is in the band of threshold T when it is in
	// [k·T, T).
	RatioBP int64 `json:"ratio_bp"`
	// MinCount is N, the number of in-band transfers in the window.
	MinCount int64 `json:"min_count"`
	// WindowSeconds is W.
	WindowSeconds int64 `json:"window_seconds"`
	// ThresholdIndividual and ThresholdInstitution are the large-value thresholds T whose
	// bands are watched, in fen.
	ThresholdIndividual  int64 `json:"threshold_individual"`
	ThresholdInstitution int64 `json:"threshold_institution"`
}

// Validate implements Params.
func (p *StructParams) Validate() error {
	switch {
	case p.RatioBP <= 0 || p.RatioBP >= 10_000:
		return errors.New("ratio_bp must be in (0, 10000)")
	case p.MinCount < 1 || p.MinCount > 1000:
		return errors.New("min_count must be in [1, 1000]")
	case p.WindowSeconds <= 0 || p.WindowSeconds > 92*86400:
		return errors.New("window_seconds must be in (0, 92 days]")
	case p.ThresholdIndividual <= 0 || p.ThresholdInstitution <= 0:
		return errors.New("thresholds must be positive")
	}
	return nil
}

func structRule() *Rule {
	return &Rule{
		ID: RuleStruct, Title: "Structuring below the large-value threshold", Severity: SeverityHigh, Subject: SubjectOwner,
		shares: sharesCoinMoves,
		Source: "PBOC Order [2016] No. 3, art. 11 and 13 (suspicious transactions: splitting to avoid reporting)",
		defaults: func() Params {
			return &StructParams{RatioBP: 9000, MinCount: 3, WindowSeconds: 5 * 86400,
				ThresholdIndividual: defaultLVIndividual, ThresholdInstitution: defaultLVInstitution}
		},
		eval: func(ctx context.Context, e *Env, p Params, r Range) ([]Finding, error) {
			return evalStruct(ctx, e, p.(*StructParams), r)
		},
	}
}

// inBand reports whether amount is in [k·T, T).
func inBand(amount, t, ratioBP int64) bool {
	return amount < t && amount*10_000 >= t*ratioBP
}

// evalStruct finds owners who, within the window, made at least N coin transfers each in
// the band below a threshold and together at or above it.
func evalStruct(ctx context.Context, e *Env, p *StructParams, r Range) ([]Finding, error) {
	thresholds := []int64{p.ThresholdIndividual}
	if p.ThresholdInstitution != p.ThresholdIndividual {
		thresholds = append(thresholds, p.ThresholdInstitution)
	}
	banded := func(m *coinMove) bool {
		if m.from == nil || m.to == nil {
			return false // mints and burns are not transfers from an owner
		}
		for _, t := range thresholds {
			if inBand(m.amount, t, p.RatioBP) {
				return true
			}
		}
		return false
	}
	inRange, err := e.coinMoves(ctx, r.From, r.To, r.FromTime, r.ToTime, nil)
	if err != nil {
		return nil, err
	}
	var payers [][]byte
	for i := range inRange {
		if banded(&inRange[i]) {
			payers = append(payers, inRange[i].from)
		}
	}
	if len(payers) == 0 {
		return nil, nil
	}
	if err := e.loadAccounts(ctx, payers); err != nil {
		return nil, err
	}
	owners := map[string]bool{}
	var ownerList [][]byte
	for _, a := range payers {
		o := e.acct(a).owner
		if !owners[string(o)] {
			owners[string(o)] = true
			ownerList = append(ownerList, o)
		}
	}
	accts, err := e.ownersAccounts(ctx, ownerList)
	if err != nil {
		return nil, err
	}
	start := r.FromTime.Add(-time.Duration(p.WindowSeconds) * time.Second)
	h1, err := e.heightAtOrAfter(ctx, start)
	if err != nil {
		return nil, err
	}
	moves, err := e.coinMoves(ctx, h1, r.To, start, r.ToTime, accts)
	if err != nil {
		return nil, err
	}
	if err := e.loadAccounts(ctx, touched(moves)); err != nil {
		return nil, err
	}
	type key struct {
		owner string
		t     int64
	}
	hits := map[key][]*coinMove{}
	var out []Finding
	for i := range moves {
		m := &moves[i]
		if !banded(m) || !owners[string(e.acct(m.from).owner)] {
			continue
		}
		owner := e.acct(m.from).owner
		for _, t := range thresholds {
			if !inBand(m.amount, t, p.RatioBP) {
				continue
			}
			k := key{string(owner), t}
			hits[k] = append(hits[k], m)
			if m.height < r.From {
				continue
			}
			var n, sum int64
			var win []*coinMove
			for _, h := range hits[k] {
				if h.time.After(m.time.Add(-time.Duration(p.WindowSeconds) * time.Second)) {
					n++
					sum += h.amount
					win = append(win, h)
				}
			}
			if n < p.MinCount || sum < t {
				continue
			}
			ev := make([]Evidence, 0, len(win))
			for _, h := range win {
				ev = append(ev, Evidence{Tx: hashHex(h.hash), Height: h.height, Time: h.time,
					Note: fmt.Sprintf("%s paid %s to %s", addrHex(h.from), coin(h.amount), addrHex(h.to))})
			}
			out = append(out, Finding{
				SubjectKind: SubjectOwner, Subject: ownerHex(owner), Member: e.acct(m.from).sponsor, Asset: ledger.CoinSymbol,
				WindowKey: fmt.Sprintf("T%d:%s", t, hashHex(win[0].hash)),
				Height:    m.height, Time: m.time, LastHeight: m.height,
				Summary: fmt.Sprintf("owner made %d transfers each in [%d%%, 100%%) of %s within %s, together %s",
					n, p.RatioBP/100, coin(t), time.Duration(p.WindowSeconds)*time.Second, coin(sum)),
				Figures:  map[string]any{"count": n, "sum": sum, "threshold": t, "ratio_bp": p.RatioBP, "window_seconds": p.WindowSeconds},
				Evidence: capEvidence(ev),
			})
		}
	}
	return out, nil
}

// maxOwnerAccounts bounds the accounts read for a set of owners.
const maxOwnerAccounts = 100_000

// ownersAccounts returns every account of the given owners and caches them.
func (e *Env) ownersAccounts(ctx context.Context, owners [][]byte) ([][]byte, error) {
	rows, err := e.q.Query(ctx, `SELECT address, owner_ref, kind, sponsor FROM accounts WHERE owner_ref = ANY($1) LIMIT $2`, owners, maxOwnerAccounts+1)
	if err != nil {
		return nil, fmt.Errorf("owners' accounts: %w", err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		a := &acct{}
		if err := rows.Scan(&a.addr, &a.owner, &a.kind, &a.sponsor); err != nil {
			return nil, fmt.Errorf("owners' accounts: %w", err)
		}
		e.accounts[string(a.addr)] = a
		out = append(out, a.addr)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("owners' accounts: %w", err)
	}
	if len(out) > maxOwnerAccounts {
		return nil, fmt.Errorf("owners' accounts: more than %d: %w", maxOwnerAccounts, ErrInvalid)
	}
	return out, nil
}

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
			note := fmt.Sprintf("received %s (%s)", coin(c.amt), c.m.kind)
			if c.amt < 0 {
				note = fmt.Sprintf("sent %s (%s)", coin(-c.amt), c.m.kind)
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
						Summary: fmt.Sprintf("account received %s and sent %s (%d%%) on within %s", coin(c.amt), coin(after), after*100/c.amt, w),
						Figures: map[string]any{"received": c.amt, "sent_after": after, "share_pct": p.SharePct, "window_seconds": p.WindowSeconds, "reading": "per_receipt"},
					}
					received = c.amt
					break
				}
			}
			if tripped == nil && in > 0 && outSum*100 >= in*p.SharePct {
				tripped = &Finding{
					Summary: fmt.Sprintf("account's debits %s reached %d%% of its credits %s within %s", coin(outSum), outSum*100/in, coin(in), w),
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

// coinCredits sums, for each of accounts, the coin it received in heights [h1, h2] (block
// times [t1, t2]): legs to it and mints, as coinMoves counts them.
func (e *Env) coinCredits(ctx context.Context, accounts [][]byte, h1, h2 int64, t1, t2 time.Time) (map[string]int64, error) {
	out := map[string]int64{}
	err := e.scan(ctx, "coin credits", func(rows pgx.Rows) error {
		var a []byte
		var sum int64
		if err := rows.Scan(&a, &sum); err != nil {
			return err
		}
		out[string(a)] += sum
		return nil
	}, `SELECT to_addr, sum(amount)::bigint FROM transfer_legs
			WHERE to_addr = ANY($1) AND asset = $2 AND block_time BETWEEN $3 AND $4 AND height BETWEEN $5 AND $6 GROUP BY to_addr
		UNION ALL SELECT counterparty, sum(amount)::bigint FROM transactions
			WHERE type = 'mint' AND code = 0 AND asset = $2 AND counterparty = ANY($1) AND block_time BETWEEN $3 AND $4 AND height BETWEEN $5 AND $6 GROUP BY counterparty`,
		accounts, ledger.CoinSymbol, t1, t2, h1, h2)
	return out, err
}

// blockBalances is, for each account, its coin balance after each block of a range that
// moved it, by ascending height.
type blockBalances map[ledger.Address][]heightAmount

// heightAmount is a balance after a block.
type heightAmount struct{ height, amount int64 }

// at returns the account's balance after block h, if h moved it.
func (b blockBalances) at(a []byte, h int64) (int64, bool) {
	hs := b[addrKey(a)]
	i := sort.Search(len(hs), func(i int) bool { return hs[i].height >= h })
	if i < len(hs) && hs[i].height == h {
		return hs[i].amount, true
	}
	return 0, false
}

// addrKey is a stored address (always 20 bytes) as an array: a map of a million of them
// keyed by string spent a third of its time converting and hashing.
func addrKey(b []byte) ledger.Address {
	var a ledger.Address
	copy(a[:], b)
	return a
}

// coinBalancesAfter folds the range's coin movements (all of them, in order, from height
// from) onto the accounts' balances before it, and returns their balances after each block.
// A coin balance moves only by legs, mints and burns (a lock moves nothing), all of them
// among the movements: reading the same from the balance history took a second for a range of
// a million transactions, three times the fold with its one probe per account.
func (e *Env) coinBalancesAfter(ctx context.Context, moves []coinMove, accounts [][]byte, from int64) (blockBalances, error) {
	cur := map[ledger.Address]*int64{}
	for _, a := range accounts {
		cur[addrKey(a)] = new(int64)
	}
	// Up to from-1: only the balance before the range, which the movements then fold.
	err := e.balancesBefore(ctx, accounts, []string{ledger.CoinSymbol}, from, from-1, func(rows pgx.Rows) error {
		var a []byte
		var amount int64
		if err := rows.Scan(&a, nil, nil, &amount); err != nil {
			return err
		}
		if c := cur[addrKey(a)]; c != nil {
			*c = amount
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := blockBalances{}
	var touched []ledger.Address
	for i := 0; i < len(moves); {
		h := moves[i].height
		touched = touched[:0]
		for ; i < len(moves) && moves[i].height == h; i++ {
			m := &moves[i]
			for _, side := range []struct {
				a    []byte
				sign int64
			}{{m.from, -1}, {m.to, 1}} {
				if side.a == nil {
					continue
				}
				k := addrKey(side.a)
				c := cur[k]
				if c == nil {
					continue
				}
				*c += side.sign * m.amount
				if hs := out[k]; len(hs) == 0 || hs[len(hs)-1].height != h {
					out[k] = append(hs, heightAmount{h, 0})
					touched = append(touched, k)
				}
			}
		}
		for _, k := range touched {
			hs := out[k]
			hs[len(hs)-1].amount = *cur[k]
		}
	}
	return out, nil
}
