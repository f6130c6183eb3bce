package compliance

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

func settleFailRule() *Rule {
	return &Rule{
		ID: RuleSettleFail, Title: "Gateway settlement failed or past its deadline", Severity: SeverityMedium, Subject: SubjectAccount,
		Source:   "CSRC/PBOC rules on delivery versus payment (Securities Law art. 158); zero tolerance",
		defaults: func() Params { return &NoParams{} },
		eval: func(ctx context.Context, e *Env, _ Params, r Range) ([]Finding, error) {
			return evalSettleFail(ctx, e, r)
		},
	}
}

// evalSettleFail reports gateway settlements that failed in the range (by the gateway or on
// expiry), and those still open at the range's end though their deadline passed within it.
// Both are keyed by the settlement, so one settlement is one violation.
func evalSettleFail(ctx context.Context, e *Env, r Range) ([]Finding, error) {
	prev := r.FromTime
	if r.From > 1 {
		t, err := e.blockTime(ctx, r.From-1)
		if err != nil {
			return nil, err
		}
		prev = t
	}
	rows, err := e.q.Query(ctx, `SELECT id, state, seller, buyer, asset, quantity, cash, deadline, reason, opened_height, opened_time,
			coalesce(closed_height, 0), coalesce(closed_time, opened_time), gateway
		FROM settlements WHERE kind = 'gateway' AND (
			(state = 'failed' AND closed_height BETWEEN $1 AND $2)
			OR (deadline >= $3 AND deadline < $4 AND opened_height <= $2 AND (closed_height IS NULL OR closed_height > $2)))
		ORDER BY opened_height, id`, r.From, r.To, prev, r.ToTime)
	if err != nil {
		return nil, fmt.Errorf("failed settlements: %w", err)
	}
	type st struct {
		id, seller, buyer []byte
		state, asset      string
		qty, cash         int64
		deadline          time.Time
		reason            string
		oh                int64
		ot                time.Time
		ch                int64
		ct                time.Time
		gateway           string
	}
	var ss []st
	for rows.Next() {
		var s st
		if err := rows.Scan(&s.id, &s.state, &s.seller, &s.buyer, &s.asset, &s.qty, &s.cash, &s.deadline, &s.reason, &s.oh, &s.ot, &s.ch, &s.ct, &s.gateway); err != nil {
			rows.Close()
			return nil, fmt.Errorf("failed settlements: %w", err)
		}
		ss = append(ss, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed settlements: %w", err)
	}
	var out []Finding
	for _, s := range ss {
		if err := e.loadAccounts(ctx, [][]byte{s.seller}); err != nil {
			return nil, err
		}
		h, t, what := s.ch, s.ct, "failed: "+s.reason
		if s.state != "failed" || s.ch > r.To {
			h, t, what = r.To, r.ToTime, "still locked after its deadline"
		}
		out = append(out, Finding{
			SubjectKind: SubjectAccount, Subject: addrHex(s.seller), WindowKey: hashHex(s.id), Member: e.acct(s.seller).sponsor,
			Asset: s.asset, Height: h, Time: t, LastHeight: h,
			Summary: fmt.Sprintf("gateway settlement of %d %s through %s %s", s.qty, s.asset, s.gateway, what),
			Figures: map[string]any{"quantity": s.qty, "fiat": s.cash, "deadline": s.deadline, "state": s.state, "buyer": addrHex(s.buyer)},
			Evidence: []Evidence{
				{Tx: hashHex(s.id), Height: s.oh, Time: s.ot, Note: fmt.Sprintf("locked %d %s, deadline %s", s.qty, s.asset, s.deadline.UTC().Format(time.RFC3339))},
				{Height: h, Time: t, Note: what},
			},
		})
	}
	return out, nil
}

func dvpAtomRule() *Rule {
	return &Rule{
		ID: RuleDvPAtom, Title: "DvP without both legs", Severity: SeverityCritical, Subject: SubjectSettlement,
		shares:   sharesTrades,
		Source:   "CPMI-IOSCO Principles for Financial Market Infrastructures, principle 12 (DvP); must never happen",
		defaults: func() Params { return &NoParams{} },
		eval: func(ctx context.Context, e *Env, _ Params, r Range) ([]Finding, error) {
			return evalDvPAtom(ctx, e, r)
		},
	}
}

// dvpSettlement is a DvP of the range and the legs its transaction moved.
type dvpSettlement struct {
	id                  []byte
	asset, venue        string
	qty, cash, height   int64
	time                time.Time
	assetLegs, cashLegs int64
}

// evalDvPAtom finds the range's DvPs whose transaction did not move both legs. A DvP's id is
// its transaction's hash, which its legs carry. Each of its two reads is a range scan of one
// table along its primary key, joined here: one SQL join, planned on the statistics of
// tables still being loaded, chose a nested loop that took a minute for 50k transactions.
func evalDvPAtom(ctx context.Context, e *Env, r Range) ([]Finding, error) {
	ts, err := e.trades(ctx, r.From, r.To)
	if err != nil {
		return nil, err
	}
	byID := map[string]*dvpSettlement{}
	var order []*dvpSettlement
	for _, t := range ts {
		if t.kind != "dvp" {
			continue
		}
		d := &dvpSettlement{id: t.id, asset: t.asset, qty: t.qty, cash: t.cash, height: t.height, time: t.time, venue: t.venue}
		byID[string(d.id)] = d
		order = append(order, d)
	}
	if len(order) == 0 {
		return nil, nil
	}
	// A DvP's legs are rows of settlement_legs: the transfer_legs view adds plain transfers only.
	var hash []byte
	var height int64
	var leg string
	err = e.scan(ctx, "dvp legs", func(rows pgx.Rows) error {
		if err := rows.Scan(&height, &hash, &leg); err != nil {
			return err
		}
		if d := byID[string(hash)]; d != nil && d.height == height {
			if leg == "asset" {
				d.assetLegs++
			} else {
				d.cashLegs++
			}
		}
		return nil
	}, `SELECT height, tx_hash, leg FROM settlement_legs
		WHERE block_time BETWEEN $3 AND $4 AND height BETWEEN $1 AND $2 AND leg IN ('asset', 'cash')`,
		r.From, r.To, r.FromTime, r.ToTime)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, d := range order {
		if (d.qty == 0 || d.assetLegs > 0) && (d.cash == 0 || d.cashLegs > 0) {
			continue
		}
		out = append(out, Finding{
			SubjectKind: SubjectSettlement, Subject: hashHex(d.id), WindowKey: hashHex(d.id), Member: d.venue, Asset: d.asset,
			Height: d.height, Time: d.time, LastHeight: d.height,
			Summary:  fmt.Sprintf("DvP final with %d asset legs and %d cash legs", d.assetLegs, d.cashLegs),
			Figures:  map[string]any{"quantity": d.qty, "cash": d.cash, "asset_legs": d.assetLegs, "cash_legs": d.cashLegs},
			Evidence: []Evidence{{Tx: hashHex(d.id), Height: d.height, Time: d.time, Note: "DvP settlement"}},
		})
	}
	return out, nil
}

// SessionParams are the parameters of SESSION.
type SessionParams struct {
	// Sessions maps a venue to its session hours in Asia/Shanghai time, as comma-separated
	// half-open ranges "HH:MM-HH:MM". A venue not listed is never in session.
	Sessions map[string]string `json:"sessions"`
	// Weekdays limits sessions to Monday to Friday.
	Weekdays bool `json:"weekdays"`
}

// Validate implements Params.
func (p *SessionParams) Validate() error {
	for v, s := range p.Sessions {
		if _, err := parseSessions(s); err != nil {
			return fmt.Errorf("sessions of %s: %w", v, err)
		}
	}
	return nil
}

// parseSessions reads "09:30-11:30,13:00-15:00" into minute ranges.
func parseSessions(s string) ([][2]int, error) {
	var out [][2]int
	for _, part := range strings.Split(s, ",") {
		a, b, ok := strings.Cut(strings.TrimSpace(part), "-")
		if !ok {
			return nil, fmt.Errorf("%q is not HH:MM-HH:MM", part)
		}
		from, err1 := parseClock(a)
		to, err2 := parseClock(b)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		if from >= to {
			return nil, fmt.Errorf("%q is empty", part)
		}
		out = append(out, [2]int{from, to})
	}
	return out, nil
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return hh*60 + mm, nil
}

// inSession reports whether a venue is in session at t.
func (p *SessionParams) inSession(venue string, t time.Time) bool {
	s, ok := p.Sessions[venue]
	if !ok {
		return false
	}
	lt := t.In(shanghai)
	if wd := lt.Weekday(); p.Weekdays && (wd == time.Saturday || wd == time.Sunday) {
		return false
	}
	m := lt.Hour()*60 + lt.Minute()
	ranges, _ := parseSessions(s)
	for _, r := range ranges {
		if m >= r[0] && m < r[1] {
			return true
		}
	}
	return false
}

func sessionRule() *Rule {
	const securities = "09:30-11:30,13:00-15:00"
	const commodities = "09:00-10:15,10:30-11:30,13:30-15:00,21:00-23:00"
	return &Rule{
		ID: RuleSession, Title: "Trade outside the venue's session", Severity: SeverityLow, Subject: SubjectMember,
		shares: sharesTrades,
		Source: "Trading rules of the venue (e.g. SZSE Trading Rules 2023, ch. 3 section 1 trading hours); venue parameter",
		defaults: func() Params {
			return &SessionParams{Weekdays: true, Sessions: map[string]string{
				"SZFE": securities, "TJCE": commodities, "SHCX": commodities, "CQCE": commodities}}
		},
		eval: func(ctx context.Context, e *Env, p Params, r Range) ([]Finding, error) {
			sp := p.(*SessionParams)
			ts, err := e.trades(ctx, r.From, r.To)
			if err != nil {
				return nil, err
			}
			var out []Finding
			for _, t := range ts {
				if t.kind != "dvp" {
					continue // gateway settlements are off-exchange
				}
				venue := t.venue
				if sp.inSession(venue, t.time) {
					continue
				}
				out = append(out, Finding{
					SubjectKind: SubjectMember, Subject: venue, WindowKey: hashHex(t.id), Member: venue, Asset: t.asset,
					Height: t.height, Time: t.time, LastHeight: t.height,
					Summary:  fmt.Sprintf("DvP in %s at %s %s, outside the venue's session (%s)", t.asset, venue, t.time.In(shanghai).Format("Mon 15:04"), sp.Sessions[venue]),
					Figures:  map[string]any{"venue": venue, "local_time": t.time.In(shanghai).Format(time.DateTime), "sessions": sp.Sessions[venue]},
					Evidence: []Evidence{{Tx: hashHex(t.id), Height: t.height, Time: t.time, Note: fmt.Sprintf("%d %s for %s", t.qty, t.asset, coin(t.cash))}},
				})
			}
			return out, nil
		},
	}
}

// sortedStrings returns a map's keys in order.
func sortedStrings[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
