package compliance

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

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

// Default session hours of the venues: securities, and commodities with a night session.
const (
	securitiesSessions  = "09:30-11:30,13:00-15:00"
	commoditiesSessions = "09:00-10:15,10:30-11:30,13:30-15:00,21:00-23:00"
)

// evalSession reports each DvP of the range outside its venue's session.
func evalSession(ctx context.Context, e *Env, sp *SessionParams, r Range) ([]Finding, error) {
	ts, err := e.trades(ctx, r.From, r.To)
	if err != nil {
		return nil, err
	}
	var outside []*trade
	var assets []string
	for i := range ts {
		t := &ts[i]
		if t.kind != "dvp" {
			continue // gateway settlements are off-exchange
		}
		if sp.inSession(t.venue, t.time) {
			continue
		}
		outside = append(outside, t)
		assets = append(assets, t.asset)
	}
	if err := e.loadDecimals(ctx, assets); err != nil {
		return nil, err
	}
	out := make([]Finding, 0, len(outside))
	for _, t := range outside {
		venue := t.venue
		out = append(out, Finding{
			SubjectKind: SubjectMember, Subject: venue, WindowKey: hashHex(t.id), Member: venue, Asset: t.asset,
			Height: t.height, Time: t.time, LastHeight: t.height,
			Summary: fmt.Sprintf("DvP in %s at %s %s, outside the venue's session hours (%s)",
				t.asset, venue, t.time.In(shanghai).Format("Mon 15:04 MST"), sessionsText(sp.Sessions[venue])),
			Figures: map[string]any{"venue": venue, "local_time": t.time.In(shanghai).Format(time.DateTime), "sessions": sp.Sessions[venue]},
			Evidence: []Evidence{{Tx: hashHex(t.id), Height: t.height, Time: t.time,
				Note: fmt.Sprintf("DvP at %s, %s: %s sold %s for %s to %s", venue, timeText(t.time), addrHex(t.seller),
					e.amount(t.qty, t.asset), coin(t.cash), addrHex(t.buyer)),
				Accounts: []EvidenceAccount{e.mover(t.seller, "seller", t.asset, t.qty), e.mover(t.buyer, "buyer", t.asset, t.qty)}}},
		})
	}
	return out, nil
}

// sessionsText is a venue's session hours for a summary: "09:30-11:30, 13:00-15:00 CST", or
// "none" for a venue without sessions.
func sessionsText(s string) string {
	if s == "" {
		return "none"
	}
	return strings.ReplaceAll(s, ",", ", ") + " CST"
}
