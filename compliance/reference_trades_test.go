package compliance

import (
	"fmt"
	"math/big"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// The reference of the rules about trades and settlements (MATCHED, SESSION, SETTLE-FAIL,
// DVP-ATOM) and of POS-LIM, each from its text in docs/rules.md, over the same decoded
// history as reference_test.go.

// refTrade is a final trade: a DvP, or a gateway settlement in the block that confirmed it.
type refTrade struct {
	tx            *refTx
	id            ledger.Hash
	kind          string
	seller, buyer ledger.Address
	asset, venue  string
	qty, cash     int64
}

// trades lists the final trades in the order they became final.
func (l *refLedger) trades() []refTrade {
	var out []refTrade
	for i := range l.txs {
		t := &l.txs[i]
		for _, ev := range t.events {
			e, ok := ev.(*ledger.SettlementEvent)
			if !ok || (e.Kind == "gateway" && e.State != ledger.SettlementConfirmed) {
				continue
			}
			out = append(out, refTrade{tx: t, id: e.ID, kind: e.Kind, seller: e.Seller, buyer: e.Buyer, asset: e.Asset,
				venue: e.Venue, qty: int64(e.Quantity), cash: int64(e.Cash)})
		}
	}
	return out
}

// refWithin reports whether a and b differ by at most bp basis points of the larger.
func refWithin(a, b *big.Int, bp int64) bool {
	hi, lo := a, b
	if a.Cmp(b) < 0 {
		hi, lo = b, a
	}
	d := new(big.Int).Mul(new(big.Int).Sub(hi, lo), big.NewInt(10_000))
	return d.Cmp(new(big.Int).Mul(hi, big.NewInt(bp))) <= 0
}

// refMatched is MATCHED: two distinct trades in one asset at most 5 s apart, the buyer of
// one and the seller of the other sharing an owner, their quantities and their prices
// (cross-multiplied) within 1% of the larger. Each owner so linked is a violation of the
// pair. Its member is its account in the later trade, on the side that links it (either
// trade's when both are final in one block); its members those of all its accounts in the
// two trades.
func (l *refLedger) refMatched() []refFinding {
	const window, tol = 5 * time.Second, 100
	ts := l.trades()
	owner := func(a ledger.Address) ledger.Hash { return l.accounts[a].owner }
	var out []refFinding
	for j := range ts {
		for i := range j {
			a, b := &ts[i], &ts[j] // b is the later
			if a.asset != b.asset || b.tx.time.Sub(a.tx.time) > window {
				continue
			}
			qa, qb := big.NewInt(a.qty), big.NewInt(b.qty)
			pa, pb := new(big.Int).Mul(big.NewInt(a.cash), qb), new(big.Int).Mul(big.NewInt(b.cash), qa)
			if !refWithin(qa, qb, tol) || !refWithin(pa, pb, tol) {
				continue
			}
			// The owners on opposite sides, each with its account in b on the linking side;
			// in a, too, when both are final in one block, at one time.
			linked := map[ledger.Hash][]ledger.Address{}
			var order []ledger.Hash
			for _, s := range [][4]ledger.Address{{a.buyer, b.seller, b.seller, a.buyer}, {a.seller, b.buyer, b.buyer, a.seller}} {
				if o := owner(s[0]); o == owner(s[1]) {
					if _, ok := linked[o]; !ok {
						order = append(order, o)
					}
					linked[o] = append(linked[o], s[2])
					if a.tx.height == b.tx.height {
						linked[o] = append(linked[o], s[3])
					}
				}
			}
			first, second := a, b
			if first.id.String() > second.id.String() {
				first, second = second, first
			}
			for _, o := range order {
				members := map[string]bool{}
				for _, p := range []ledger.Address{a.seller, a.buyer, b.seller, b.buyer} {
					if owner(p) == o {
						members[l.accounts[p].sponsor] = true
					}
				}
				member := l.accounts[linked[o][0]].sponsor
				for _, p := range linked[o][1:] {
					if l.accounts[p].sponsor != member {
						member = "-" // either account may be said to have tripped it
					}
				}
				out = append(out, refFinding{Rule: RuleMatched, Subject: refOwner(o), WindowKey: first.id.String() + "/" + second.id.String(),
					Severity: "high", Height: b.tx.height, Member: member, Members: sortedStrings(members),
					Figures: refFigures(map[string]any{"window_seconds": 5, "tolerance_bp": tol,
						"qty": []int64{first.qty, second.qty}, "cash": []int64{first.cash, second.cash}})})
			}
		}
	}
	return out
}

// refCommodity is the commodity venues' default session hours, in seconds of the Shanghai
// day, half-open.
var refCommodity = [][2]int{{9 * 3600, 10*3600 + 15*60}, {10*3600 + 30*60, 11*3600 + 30*60}, {13*3600 + 30*60, 15 * 3600}, {21 * 3600, 23 * 3600}}

// refSessions are the default session hours of docs/rules.md, per venue.
var refSessions = map[string][][2]int{
	"SZFE": {{9*3600 + 30*60, 11*3600 + 30*60}, {13 * 3600, 15 * 3600}},
	"TJCE": refCommodity, "SHCX": refCommodity, "CQCE": refCommodity,
}

// refSessionText is the sessions parameter of a venue as the figures show it.
var refSessionText = map[string]string{"SZFE": "09:30-11:30,13:00-15:00", "TJCE": "09:00-10:15,10:30-11:30,13:30-15:00,21:00-23:00",
	"SHCX": "09:00-10:15,10:30-11:30,13:30-15:00,21:00-23:00", "CQCE": "09:00-10:15,10:30-11:30,13:30-15:00,21:00-23:00"}

// refSession is SESSION: a DvP whose Shanghai block time is on a weekend or outside every
// session range of its venue. The subject is the venue, a member: its own member.
func (l *refLedger) refSession() []refFinding {
	var out []refFinding
	for _, t := range l.trades() {
		if t.kind != "dvp" {
			continue
		}
		lt := t.tx.time.In(time.FixedZone("Asia/Shanghai", 8*3600))
		sec := lt.Hour()*3600 + lt.Minute()*60 + lt.Second()
		in := false
		if wd := lt.Weekday(); wd != time.Saturday && wd != time.Sunday {
			for _, r := range refSessions[t.venue] {
				in = in || (sec >= r[0] && sec < r[1])
			}
		}
		if in {
			continue
		}
		out = append(out, refFinding{Rule: RuleSession, Subject: t.venue, WindowKey: t.id.String(), Severity: "low",
			Height: t.tx.height, Member: t.venue, Members: []string{t.venue},
			Figures: refFigures(map[string]any{"venue": t.venue, "local_time": lt.Format("2006-01-02 15:04:05"),
				"sessions": refSessionText[t.venue]})})
	}
	return out
}

// refBlockEvents are the events of block i not tied to a transaction (expiries).
func (l *refLedger) refBlockEvents(i int) []ledger.Event {
	evs, err := ledger.ParseEvents(l.blocks[i].Events)
	if err != nil {
		panic(fmt.Sprintf("block %d events: %v", l.blocks[i].Height, err))
	}
	return evs
}

// refSettleFail is SETTLE-FAIL: a gateway settlement that failed (by the gateway, or expired
// by the ledger) or that is still locked at a block end after its deadline; once per
// settlement, subject the seller, at the first block either is seen. The figures are the
// settlement's as it stands at the end of the history.
func (l *refLedger) refSettleFail() []refFinding {
	type settlement struct {
		e       ledger.SettlementEvent
		flagged int
	}
	open := map[ledger.Hash]*settlement{}
	var order []*settlement
	var out []refFinding
	flag := func(s *settlement, h int64) {
		if s.flagged < 0 {
			s.flagged = len(out)
			out = append(out, refFinding{Rule: RuleSettleFail, Subject: refAddr(s.e.Seller), WindowKey: s.e.ID.String(),
				Severity: "medium", Height: h, Member: l.accounts[s.e.Seller].sponsor, Members: []string{l.accounts[s.e.Seller].sponsor}})
		}
	}
	see := func(ev ledger.Event, h int64) {
		e, ok := ev.(*ledger.SettlementEvent)
		if !ok || e.Kind != "gateway" {
			return
		}
		s := open[e.ID]
		if s == nil {
			s = &settlement{flagged: -1}
			open[e.ID] = s
			order = append(order, s)
		}
		s.e = *e
		if e.State == ledger.SettlementFailed {
			flag(s, h)
		}
	}
	j := 0
	for bi, b := range l.blocks {
		for _, ev := range l.refBlockEvents(bi) {
			see(ev, b.Height)
		}
		for ; j < len(l.txs) && l.txs[j].height == b.Height; j++ {
			for _, ev := range l.txs[j].events {
				see(ev, b.Height)
			}
		}
		for _, s := range order {
			if s.e.State == ledger.SettlementLocked && b.Time.After(time.Unix(s.e.Deadline, 0)) {
				flag(s, b.Height)
			}
		}
	}
	for _, s := range order {
		if s.flagged >= 0 {
			out[s.flagged].Figures = refFigures(map[string]any{"quantity": s.e.Quantity, "fiat": s.e.Cash,
				"deadline": time.Unix(s.e.Deadline, 0).UTC(), "state": s.e.State.String(), "buyer": refAddr(s.e.Buyer)})
		}
	}
	return out
}

// refDvPAtom is DVP-ATOM: a final DvP whose transaction, as synced, lacks its asset leg
// (quantity > 0) or its cash leg (cash > 0). The ledger never does that: the differential
// test cuts a leg from both the database and this history.
func (l *refLedger) refDvPAtom() []refFinding {
	var out []refFinding
	for _, t := range l.trades() {
		if t.kind != "dvp" {
			continue
		}
		var assetLegs, cashLegs int64
		for _, ev := range t.tx.events {
			if e, ok := ev.(*ledger.TransferEvent); ok && e.Leg == "asset" {
				assetLegs++
			} else if ok && e.Leg == "cash" {
				cashLegs++
			}
		}
		if (t.qty == 0 || assetLegs > 0) && (t.cash == 0 || cashLegs > 0) {
			continue
		}
		out = append(out, refFinding{Rule: RuleDvPAtom, Subject: t.id.String(), WindowKey: t.id.String(), Severity: "critical",
			Height: t.tx.height, Member: "-",
			Figures: refFigures(map[string]any{"quantity": t.qty, "cash": t.cash, "asset_legs": assetLegs, "cash_legs": cashLegs})})
	}
	return out
}

// refPosLim is POS-LIM: an owner's summed holding of a future or option with a position
// limit, at any block end, above the limit; once per owner, contract and Shanghai day, at
// the day's first such block end. The figures are the day's last such block end's. The
// docs name no member for it yet.
func (l *refLedger) refPosLim() []refFinding {
	limits := map[string]int64{}
	for i := range l.txs {
		for _, ev := range l.txs[i].events {
			if e, ok := ev.(*ledger.AssetEvent); ok && (e.Asset.Kind == ledger.SecurityFuture || e.Asset.Kind == ledger.SecurityOption) &&
				e.Asset.PositionLimit > 0 {
				limits[e.Asset.Symbol] = int64(e.Asset.PositionLimit)
			}
		}
	}
	times := map[int64]time.Time{}
	for _, b := range l.blocks {
		times[b.Height] = b.Time
	}
	series, _ := l.holdSeries()
	var out []refFinding
	for k, pts := range series {
		limit, ok := limits[k[1]]
		if !ok {
			continue
		}
		byDay := map[string]int{}
		for _, pt := range pts {
			if pt.holding <= limit {
				continue
			}
			day := marketDay(times[pt.height])
			f := refFinding{Rule: RulePosLim, Subject: k[0], WindowKey: k[1] + ":" + day, Severity: "high", Height: pt.height, Member: "-",
				Figures: refFigures(map[string]any{"asset": k[1], "holding": pt.holding, "limit": limit, "day": day})}
			if j, ok := byDay[day]; ok {
				f.Height = out[j].Height
				out[j] = f
				continue
			}
			byDay[day] = len(out)
			out = append(out, f)
		}
	}
	return out
}
