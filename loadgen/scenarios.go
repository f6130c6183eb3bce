package loadgen

import (
	"slices"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// Violation scenarios. Each crosses its own rule and, by construction, stays clear of every
// other rule, or labels each other rule it must cross (STRUCT funds its accounts in a way that
// also trips LV-IND, and says so). Scenario accounts are never used by clean traffic again.

// scenarioRoom is how many accounts a scenario may need.
const scenarioRoom = 8

// Uses of one asset by the scenarios that drain it of clean holdings.
const (
	maxHoldUses = 2
	maxPosUses  = 8
)

// startScenario starts the next scenario in round-robin order that can start now.
func (g *Generator) startScenario() bool {
	if len(g.accounts)+scenarioRoom > g.cfg.MaxAccounts {
		return false
	}
	// SESSION can start only while a venue is closed, which its turns in the round robin
	// may never meet (a session lasts longer than a round): a turn it missed is taken at the
	// next closure.
	if g.sessionOwed && g.scnSession() {
		g.sessionOwed = false
		g.scnStarted[ScenarioSession]++
		return true
	}
	for i := range scenarioOrder {
		k := (g.scnNext + i) % len(scenarioOrder)
		id := scenarioOrder[k]
		if len(g.cfg.Scenarios) > 0 && !slices.Contains(g.cfg.Scenarios, id) {
			continue
		}
		if g.scenario(id) {
			g.scnNext = k + 1
			g.scnStarted[id]++
			return true
		}
		if id == ScenarioSession {
			g.sessionOwed = true
		}
	}
	return false
}

func (g *Generator) scenario(id string) bool {
	switch id {
	case ScenarioLVInst:
		return g.scnLV(id, ledger.KindInstitution)
	case ScenarioLVInd:
		return g.scnLV(id, ledger.KindIndividual)
	case ScenarioStruct:
		return g.scnStruct()
	case ScenarioHold5, ScenarioPosLim:
		return g.scnAccumulate(id)
	case ScenarioHold1:
		return g.scnHold1()
	case ScenarioSelf:
		return g.scnSelf()
	case ScenarioMatched:
		return g.scnMatched()
	case ScenarioFrozen:
		return g.scnFrozen()
	case ScenarioSettleFail:
		return g.scnSettleFail()
	case ScenarioReserve:
		return g.scnReserve()
	case ScenarioRapid:
		return g.scnRapid()
	case ScenarioWatch:
		return g.scnWatch()
	case ScenarioSession:
		return g.scnSession()
	}
	return false
}

// freshAccount registers a scenario account of its own owner.
func (g *Generator) freshAccount(kind ledger.AccountKind, sponsor string) *account {
	name := g.scenarioName(g.scnAccounts)
	g.scnAccounts++
	a := g.newAccount(name, kind, sponsor, exchanges, g.ownerRef(name), roleScenario)
	g.register(a)
	return a
}

// takeOwner returns a multi-account owner for a scenario: one the setup kept, or a new one.
// kind 0 takes any kind.
func (g *Generator) takeOwner(kind ledger.AccountKind) *owner {
	for i, o := range g.reserved {
		if o.accts[0].role == roleDead || o.accts[1].role == roleDead {
			continue
		}
		if kind == 0 || o.kind == kind {
			g.reserved = slices.Delete(g.reserved, i, i+1)
			for _, a := range o.accts {
				a.role = roleScenario
			}
			return o
		}
	}
	if kind == 0 {
		kind = ledger.AccountKind(1 + g.rng.IntN(2))
	}
	o := g.newOwner(g.scenarioName(g.scnAccounts), kind, false, roleScenario)
	g.scnAccounts++
	for _, a := range o.accts {
		g.register(a)
	}
	return o
}

func (g *Generator) done() { g.scnActive-- }

// scnLV: a payment of 1.05-1.10 times the threshold between two fresh accounts of the kind,
// the payer funded by a mint of over twice the amount, so it sends on well under 90% of what
// it received. Both accounts cross the daily threshold.
func (g *Generator) scnLV(id string, kind ledger.AccountKind) bool {
	t := lvThreshold(kind)
	payer := g.freshAccount(kind, "HTSC")
	payee := g.freshAccount(kind, "GTJA")
	g.scnActive++
	d := g.activeIn(payer, payee)
	// The funding and the payment go out together, the mint first: a run cut short between
	// them would leave an account over the threshold (counting the mint) with no label.
	g.after(d, d, func() {
		amt := (t + t/20 + g.rng.Uint64N(t/20)) / fenPerYuan * fenPerYuan
		fund := 2*amt + g.rng.Uint64N(amt/5)
		g.mintCoin(payer, fund)
		tx := g.emit(&ledger.Transfer{To: payee.addr, Asset: ledger.CoinSymbol, Amount: amt}, payer)
		g.move(payer, payee, g.coin, amt)
		g.label(tx, id, payer.addr.String(), "role=payer kind=%s amount=%d day_sum_transfers=%d day_sum_with_mint=%d threshold=%d",
			kind, amt, amt, amt+fund, t)
		g.label(tx, id, payee.addr.String(), "role=payee kind=%s amount=%d day_sum_transfers=%d threshold=%d", kind, amt, amt, t)
		g.done()
	})
	return true
}

// scnStruct: one individual owner with two accounts sends four payments, each in
// [0.91·T, 0.99·T) of the individual threshold, to four unrelated fresh accounts within
// seconds. Funding them takes a mint of 4·T to each account, so each also crosses LV-IND,
// labelled on its second payment (the first at which its transfer legs alone reach T).
func (g *Generator) scnStruct() bool {
	t := uint64(lvIndividual)
	o := g.takeOwner(ledger.KindIndividual)
	var to [4]*account
	for i := range to {
		to[i] = g.freshAccount(ledger.KindIndividual, brokers[i%2])
	}
	g.scnActive++
	d := g.activeIn(append(o.accts[:2:2], to[:]...)...)
	// Funding and payments go out together, as in scnLV.
	g.after(d, d, func() {
		for _, a := range o.accts[:2] {
			g.mintCoin(a, 4*t)
		}
		{
			var daySum [2]uint64
			for i, r := range to {
				a := o.accts[i/2]
				amt := (t*91/100 + g.rng.Uint64N(t*8/100)) / fenPerYuan * fenPerYuan
				tx := g.emit(&ledger.Transfer{To: r.addr, Asset: ledger.CoinSymbol, Amount: amt}, a)
				g.move(a, r, g.coin, amt)
				g.label(tx, ScenarioStruct, o.ref.String(), "account=%s amount=%d band_low=%d threshold=%d n=%d of=4 window_days=5",
					a.addr, amt, t*9/10, t, i+1)
				daySum[i/2] += amt
				if i%2 == 1 {
					g.label(tx, ScenarioLVInd, a.addr.String(), "role=structuring_payer kind=individual day_sum_transfers=%d day_sum_with_mint=%d threshold=%d",
						daySum[i/2], daySum[i/2]+4*t, t)
				}
			}
			g.done()
		}
	})
	return true
}

// accumulation is a HOLD-5 or POS-LIM build-up: one owner's accounts buy an instrument from
// clean holders through gateway settlements (no coin moves) until together they cross the
// rule's line, which the confirmation that crosses it is labelled with.
type accumulation struct {
	g      *Generator
	id     string
	as     *assetState
	o      *owner
	target uint64 // total to reach
	perAcc uint64 // most one account takes
	booked uint64 // locked or delivered
	held   uint64 // delivered
	misses int
	// whole books the rest of the target in one settlement, from one seller.
	whole bool
	// needs is a transaction every lock must find in a block first (HOLD-1's crossing).
	needs *txRef
	// confirmed labels the confirmation that took the delivered total from before to after.
	confirmed func(tx *Tx, before, after uint64)
	// finish, when set, runs once the target is booked and every lock confirmed: the next
	// stage of a HOLD-1 build-up. Without it the scenario ends once the target is booked.
	finish func()
	// base is the holding at HOLD-1's crossing of 5%, and crossing its confirmation.
	base     uint64
	crossing *txRef
}

func (g *Generator) scnAccumulate(id string) bool {
	var as *assetState
	if id == ScenarioPosLim {
		as = g.bySymbol["M2609"]
		limit := as.spec.body.PositionLimit
		// The position stays under 4% of supply so that it is not a HOLD-5 crossing too.
		if g.assetUses[as] >= maxPosUses || (limit+limit/8)*100 > as.supply*4 {
			return false
		}
	} else if as = g.leastUsedStock(); as == nil {
		return false
	}
	g.assetUses[as]++
	acc := &accumulation{g: g, id: id, as: as, o: g.takeOwner(0)}
	acc.confirmed = acc.labelCrossing
	if id == ScenarioPosLim {
		limit := as.spec.body.PositionLimit
		acc.target = limit + 5 + g.rng.Uint64N(limit/10)
		acc.perAcc = limit * 6 / 10
	} else {
		// 5.1% to 5.6%: across the 5% line, and less than 1% beyond it (no HOLD-1).
		acc.target = as.supply * (510 + g.rng.Uint64N(51)) / 10_000
		acc.perAcc = as.supply * 290 / 10_000 // each account alone stays under 5%
	}
	g.scnActive++
	d := g.activeIn(acc.o.accts...)
	g.after(d, d, acc.next)
	return true
}

func (acc *accumulation) next() {
	g, as := acc.g, acc.as
	// A drain stops the build-up where it stands: below the line it is nothing to flag.
	if g.draining || (acc.booked >= acc.target && acc.finish == nil) {
		g.done()
		return
	}
	if acc.booked >= acc.target {
		if acc.held < acc.booked {
			g.after(1, 1, acc.next) // the next stage starts from a settled holding
			return
		}
		f := acc.finish
		acc.finish, acc.misses = nil, 0
		f()
		return
	}
	lot := as.spec.lot
	need := (acc.target - acc.booked + lot - 1) / lot * lot
	least := lot
	if acc.whole {
		least = need
	}
	seller := g.pickHolder(as, func(a *account) bool { return a.available(as.idx) >= least && g.quietIn(a, as) })
	var buyer *account
	for _, a := range acc.o.accts[:2] {
		if a.bal[as.idx]+a.inbound[as.idx]+least <= acc.perAcc && (buyer == nil || a.bal[as.idx]+a.inbound[as.idx] < buyer.bal[as.idx]+buyer.inbound[as.idx]) {
			buyer = a
		}
	}
	if seller == nil || buyer == nil {
		if acc.misses++; acc.misses > 30 {
			g.done() // abandoned below the line: nothing to flag
			return
		}
		g.after(2, 1, acc.next)
		return
	}
	room := (acc.perAcc - buyer.bal[as.idx] - buyer.inbound[as.idx]) / lot * lot
	qty := min(need, seller.available(as.idx)/lot*lot, room)
	lock := g.lock(seller, buyer, as, qty, g.now+cleanSettleDeadline)
	if acc.needs != nil {
		g.need(lock, acc.needs)
	}
	acc.booked += qty
	g.after(int64(g.between(2, 4)), 2, func() {
		tx := g.confirm(lock, seller, buyer, as, qty)
		before := acc.held
		acc.held += qty
		acc.confirmed(tx, before, acc.held)
	})
	g.after(1, 1, acc.next)
}

// labelCrossing labels the confirmation that takes the owner across the scenario's line:
// 5% of supply (HOLD-5, also HOLD-1's first crossing) or the position limit (POS-LIM).
func (acc *accumulation) labelCrossing(tx *Tx, before, after uint64) {
	g, as := acc.g, acc.as
	if !acc.crosses(before, after) {
		return
	}
	var accts []string
	for _, a := range acc.o.accts {
		accts = append(accts, a.addr.String())
	}
	if acc.id == ScenarioPosLim {
		g.label(tx, acc.id, acc.o.ref.String(), "asset=%s limit=%d position_before=%d position_after=%d accounts=%v",
			as.symbol, as.spec.body.PositionLimit, before, after, accts)
		return
	}
	g.label(tx, ScenarioHold5, acc.o.ref.String(), "asset=%s supply=%d before_bp=%d after_bp=%d accounts=%v",
		as.symbol, as.supply, before*10_000/as.supply, after*10_000/as.supply, accts)
}

// crosses reports whether a holding going from before to after crosses the scenario's line.
func (acc *accumulation) crosses(before, after uint64) bool {
	if acc.id == ScenarioPosLim {
		limit := acc.as.spec.body.PositionLimit
		return before <= limit && after > limit
	}
	line := acc.as.supply * holdStepBP
	return before*10_000 < line && after*10_000 >= line
}

// leastUsedStock is the stock the holding scenarios have drained least, if any may still be.
func (g *Generator) leastUsedStock() *assetState {
	var as *assetState
	for _, c := range g.tradable {
		if c.spec.body.Kind == ledger.SecurityStock && g.assetUses[c] < maxHoldUses &&
			(as == nil || g.assetUses[c] < g.assetUses[as]) {
			as = c
		}
	}
	return as
}

// scnHold1: a multi-account owner buys a stock through gateway settlements in three stages:
// to at least a lot below 5% of the supply; then, once every purchase is delivered, one
// settlement that takes it to 5% and up to four lots beyond (the HOLD-5 crossing, labelled
// so, and HOLD-1's base); then, each lock waiting for that confirmation to be in a block, a
// further 1.1-1.3% of the supply. The confirmation that takes it 1% of the supply beyond the
// base is labelled HOLD-1. The base is the holding at the end of the block that crossed 5%
// only if no other purchase shares that block, which the staging ensures; and the owner ends
// less than 2% beyond the base, so HOLD-1 trips once, and below 10%, so HOLD-5 once.
func (g *Generator) scnHold1() bool {
	as := g.leastUsedStock()
	if as == nil {
		return false
	}
	g.assetUses[as]++
	acc := &accumulation{g: g, id: ScenarioHold1, as: as, o: g.takeOwner(0)}
	lot := as.spec.lot
	line := (as.supply*holdStepBP + 9_999) / 10_000 // the least holding at 5%
	// Bookings overshoot a target by less than a lot: the first stage ends below the line.
	acc.target = line - 2*lot
	// Each account stays under 5% on its own; two of them hold the whole build-up.
	acc.perAcc = as.supply * 340 / 10_000
	acc.confirmed = func(*Tx, uint64, uint64) {}
	acc.finish = acc.hold1Cross
	g.scnActive++
	d := g.activeIn(acc.o.accts...)
	g.after(d, d, acc.next)
	return true
}

// hold1Cross books HOLD-1's second stage: one settlement across 5%.
func (acc *accumulation) hold1Cross() {
	g, as := acc.g, acc.as
	lot := as.spec.lot
	line := (as.supply*holdStepBP + 9_999) / 10_000
	acc.target = acc.booked + ((line-acc.held+lot-1)/lot+g.between(0, 3))*lot
	acc.whole = true
	acc.confirmed = func(tx *Tx, before, after uint64) {
		acc.labelCrossing(tx, before, after)
		acc.base, acc.crossing = after, tx.ref
	}
	acc.finish = acc.hold1Change
	acc.next()
}

// hold1Change books HOLD-1's third stage: 1.1-1.3% of the supply beyond the base.
func (acc *accumulation) hold1Change() {
	g, as := acc.g, acc.as
	acc.target = acc.booked + as.supply*(110+g.rng.Uint64N(21))/10_000
	acc.whole = false
	acc.needs = acc.crossing
	acc.confirmed = func(tx *Tx, before, after uint64) {
		if (before-acc.base)*100 < as.supply && (after-acc.base)*100 >= as.supply {
			g.label(tx, ScenarioHold1, acc.o.ref.String(), "asset=%s supply=%d base=%d before=%d after=%d change_bp=%d",
				as.symbol, as.supply, acc.base, before, after, (after-acc.base)*10_000/as.supply)
		}
	}
	acc.next()
}

// stockInSession picks a stock whose venue stays in session for a while.
func (g *Generator) stockInSession() *assetState {
	for range 8 {
		as := g.tradable[g.rng.IntN(len(g.tradable))]
		if as.spec.body.Kind == ledger.SecurityStock && g.inSession(as.spec.body.Venue) {
			return as
		}
	}
	return nil
}

// scnSelf: an owner buys a stock into one account from a clean holder (gateway settlement),
// then moves half of it to its other account, by a DvP at the venue or by a transfer. The
// sizes differ and the moves are seconds apart, so the pair is not also a matched trade.
func (g *Generator) scnSelf() bool {
	dvp := g.scnStarted[ScenarioSelf]%2 == 0
	var as *assetState
	if dvp {
		as = g.stockInSession()
	}
	if as == nil {
		dvp = false
		as = g.tradable[g.rng.IntN(len(g.tradable))]
		if as.spec.body.Class != ledger.ClassSecurity || as.spec.future() {
			return false
		}
	}
	lot := as.spec.lot
	qty := g.between(2, 6) * 2 * lot
	seller := g.pickHolder(as, func(a *account) bool { return a.available(as.idx) >= qty && g.quietIn(a, as) })
	if seller == nil {
		return false
	}
	o := g.takeOwner(0)
	a1, a2 := o.accts[0], o.accts[1]
	g.scnActive++
	d := g.activeIn(a1, a2)
	g.after(d, d, func() {
		if !g.usable(seller) || seller.available(as.idx) < qty || !g.quietIn(seller, as) {
			g.done()
			return
		}
		lock := g.lock(seller, a1, as, qty, g.now+cleanSettleDeadline)
		g.after(3, 2, func() {
			g.confirm(lock, seller, a1, as, qty)
			q2 := qty / 2
			price := g.jitter(as.spec.price)
			if dvp {
				g.mintCoin(a2, 3*q2*price)
			}
			g.after(6, 6, func() {
				venue := as.spec.body.Venue
				var tx *Tx
				kind := "transfer"
				if dvp && g.inSession(venue) {
					kind = "dvp"
					g.trades++
					tx = g.emit(&ledger.SettleDvP{Venue: venue, Seller: a1.addr, Buyer: a2.addr, Asset: as.symbol,
						Quantity: q2, Cash: q2 * price, TradeRef: "SELF-" + lock.Hash.String()[:12]}, g.members[venue])
					g.move(a1, a2, as, q2)
					g.move(a2, a1, g.coin, q2*price)
				} else {
					tx = g.emit(&ledger.Transfer{To: a2.addr, Asset: as.symbol, Amount: q2}, a1)
					g.move(a1, a2, as, q2)
				}
				g.label(tx, ScenarioSelf, o.ref.String(), "kind=%s from=%s to=%s asset=%s quantity=%d", kind, a1.addr, a2.addr, as.symbol, q2)
				g.done()
			})
		})
	})
	return true
}

// scnMatched: an owner's first account buys a stock from a clean seller while its second
// account sells the same quantity to a clean buyer at nearly the same price, in the same
// instant. The second account got its shares earlier, three times as many, through a gateway
// settlement, so that purchase pairs with nothing.
func (g *Generator) scnMatched() bool {
	as := g.stockInSession()
	if as == nil {
		return false
	}
	lot := as.spec.lot
	q := g.between(2, 5) * lot
	holder := g.pickHolder(as, func(a *account) bool { return a.available(as.idx) >= 3*q && g.quietIn(a, as) })
	if holder == nil {
		return false
	}
	o := g.takeOwner(0)
	a1, a2 := o.accts[0], o.accts[1]
	price := g.jitter(as.spec.price)
	g.scnActive++
	d := g.activeIn(a1, a2)
	g.after(d, d, func() {
		if !g.usable(holder) || holder.available(as.idx) < 3*q || !g.quietIn(holder, as) {
			g.done()
			return
		}
		lock := g.lock(holder, a2, as, 3*q, g.now+cleanSettleDeadline)
		g.mintCoin(a1, 3*q*price)
		g.after(3, 2, func() {
			g.confirm(lock, holder, a2, as, 3*q)
			tries := 0
			var trade func()
			trade = func() {
				venue := as.spec.body.Venue
				price2 := price * uint64(996+g.rng.IntN(9)) / 1000
				s1 := g.pickHolder(as, func(a *account) bool {
					return a.hasVenue(venue) && a.available(as.idx) >= q && g.quietIn(a, as) && g.receiveSide(a) &&
						a.coin.lvRoom(g.now, a.kind) >= q*price && a.coin.creditOK(g.now, q*price)
				})
				b1 := g.pickClean(func(a *account) bool {
					return a != s1 && a.hasVenue(venue) && g.paySide(a) && g.quietOut(a, as) && g.coinRoom(a) >= q*price2 && g.canReceive(a, as, q)
				})
				if s1 == nil || b1 == nil || !g.inSession(venue) {
					if tries++; tries > 10 || g.draining {
						g.done()
						return
					}
					g.after(2, 1, trade)
					return
				}
				g.trades++
				tx1 := g.emit(&ledger.SettleDvP{Venue: venue, Seller: s1.addr, Buyer: a1.addr, Asset: as.symbol,
					Quantity: q, Cash: q * price, TradeRef: "MB-" + lock.Hash.String()[:12]}, g.members[venue])
				g.move(s1, a1, as, q)
				g.move(a1, s1, g.coin, q*price)
				tx2 := g.emit(&ledger.SettleDvP{Venue: venue, Seller: a2.addr, Buyer: b1.addr, Asset: as.symbol,
					Quantity: q, Cash: q * price2, TradeRef: "MS-" + lock.Hash.String()[:12]}, g.members[venue])
				g.move(a2, b1, as, q)
				g.move(b1, a2, g.coin, q*price2)
				tx1.sign()
				tx2.sign()
				g.label(tx1, ScenarioMatched, o.ref.String(), "side=buy account=%s asset=%s quantity=%d price=%d pair=%s", a1.addr, as.symbol, q, price, tx2.Hash)
				g.label(tx2, ScenarioMatched, o.ref.String(), "side=sell account=%s asset=%s quantity=%d price=%d pair=%s", a2.addr, as.symbol, q, price2, tx1.Hash)
				g.done()
			}
			g.after(5, 5, trade)
		})
	})
	return true
}

// scnFrozen: the regulator freezes a fresh account; the account then tries a transfer and a
// settlement (both fail with signer_frozen), and a client tries to pay it (account_frozen).
// All three are in blocks, failed, and on the record.
func (g *Generator) scnFrozen() bool {
	f := g.freshAccount(ledger.KindIndividual, "HTSC")
	g.scnActive++
	d := g.activeIn(f)
	g.after(d, d, func() {
		g.emit(&ledger.Freeze{Account: f.addr, Reason: "CSRC order: suspected market manipulation"}, g.regulator)
		f.frozen = true
		g.after(2, 2, func() {
			to := g.pickClean(func(*account) bool { return true })
			payer := g.pickClean(func(a *account) bool { return a != to })
			if to == nil || payer == nil {
				g.done()
				return
			}
			t1 := g.emit(&ledger.Transfer{To: to.addr, Asset: "HT-PTS", Amount: 100}, f)
			t1.Expect = ledger.CodeSignerFrozen
			g.label(t1, ScenarioFrozen, f.addr.String(), "attempt=transfer by=frozen expect=%s", ledger.CodeSignerFrozen)
			t2 := g.emit(&ledger.LockForSettlement{Buyer: to.addr, Asset: "601318", Quantity: 100, Gateway: gatewayID,
				FiatAmount: 452_000, Deadline: g.now + cleanSettleDeadline, Ref: "FRZ"}, f)
			t2.Expect = ledger.CodeSignerFrozen
			g.label(t2, ScenarioFrozen, f.addr.String(), "attempt=lock_for_settlement by=frozen expect=%s", ledger.CodeSignerFrozen)
			t3 := g.emit(&ledger.Transfer{To: f.addr, Asset: ledger.CoinSymbol, Amount: 50 * fenPerYuan}, payer)
			t3.Expect = ledger.CodeAccountFrozen
			g.label(t3, ScenarioFrozen, f.addr.String(), "attempt=transfer to=frozen from=%s expect=%s", payer.addr, ledger.CodeAccountFrozen)
			g.done()
		})
	})
	return true
}

// scnSettleFail: a gateway settlement between clients that the gateway fails, or one it
// leaves to expire three minutes on (the ledger fails it at the first block past the
// deadline).
func (g *Generator) scnSettleFail() bool {
	expire := g.scnStarted[ScenarioSettleFail]%2 == 1
	as := g.tradable[g.rng.IntN(len(g.tradable))]
	lot := as.spec.lot
	seller := g.pickHolder(as, func(a *account) bool { return a.available(as.idx) >= lot && g.quietIn(a, as) })
	if seller == nil {
		return false
	}
	buyer := g.pickClean(func(a *account) bool { return a != seller && g.quietOut(a, as) && g.canReceive(a, as, lot) })
	if buyer == nil {
		return false
	}
	qty := lot * g.between(1, min(3, seller.available(as.idx)/lot))
	if !g.canReceive(buyer, as, qty) {
		qty = lot
	}
	if expire {
		deadline := g.now + 180
		lock := g.lock(seller, buyer, as, qty, deadline)
		g.label(lock, ScenarioSettleFail, seller.addr.String(), "settlement=%s outcome=expired deadline=%d gateway=%s buyer=%s asset=%s quantity=%d",
			lock.Hash, deadline, gatewayID, buyer.addr, as.symbol, qty)
		// The lock returns once the ledger has expired it; a minute's margin for block times.
		g.later(180+90, func() { g.release(seller, buyer, as, qty) })
		return true
	}
	// Labelled on the lock: once it is in a block the settlement fails one way or the other,
	// by the gateway's word or, should the run end first, at its deadline.
	lock := g.lock(seller, buyer, as, qty, g.now+cleanSettleDeadline)
	g.label(lock, ScenarioSettleFail, seller.addr.String(), "settlement=%s outcome=failed gateway=%s buyer=%s asset=%s quantity=%d",
		lock.Hash, gatewayID, buyer.addr, as.symbol, qty)
	g.scnActive++
	g.after(int64(g.between(3, 8)), 2, func() {
		tx := g.emit(&ledger.FailSettlement{Settlement: lock.latest().Hash, Reason: "payer bank returned the fiat transfer"}, g.members[gatewayID])
		g.closes(tx, lock, seller, buyer, as, false)
		g.release(seller, buyer, as, qty)
		g.done()
	})
	return true
}

// scnReserve: the bank restates its reserve at exactly the coin supply, then mints without a
// new attestation, leaving supply above the reserve until an attestation some seconds later
// covers it again.
func (g *Generator) scnReserve() bool {
	to := g.freshAccount(ledger.KindIndividual, "GTJA")
	g.scnActive++
	g.after(2, 2, func() {
		g.attest(g.coin.supply)
		amt := g.between(10_000, 50_000) * fenPerYuan
		reserve := g.reserve
		tx := g.mintCoinUncovered(to, amt)
		g.label(tx, ScenarioReserve, ledger.CoinSymbol, "supply_after=%d reserve=%d excess=%d recipient=%s",
			g.coin.supply, reserve, g.coin.supply-reserve, to.addr)
		g.after(int64(g.between(10, 20)), 1, func() {
			g.attest(max(g.reserve, g.coin.supply))
			g.done()
		})
	})
	return true
}

// scnRapid: a fresh account receives a payment from a client and, seconds later, sends 92-99%
// of it on to another fresh account.
func (g *Generator) scnRapid() bool {
	lo, hi := uint64(20_000*fenPerYuan), uint64(60_000*fenPerYuan)
	payer := g.pickClean(func(a *account) bool { return g.paySide(a) && g.coinRoom(a) >= lo })
	if payer == nil {
		return false
	}
	mule := g.freshAccount(ledger.KindIndividual, "HTSC")
	sink := g.freshAccount(ledger.KindIndividual, "GTJA")
	g.scnActive++
	d := g.activeIn(mule, sink)
	g.after(d, d, func() {
		amt := min(g.between(lo, hi), g.coinRoom(payer))
		if !g.usable(payer) || !g.paySide(payer) || amt < lo/2 {
			g.done()
			return
		}
		in := g.emit(&ledger.Transfer{To: mule.addr, Asset: ledger.CoinSymbol, Amount: amt}, payer)
		g.move(payer, mule, g.coin, amt)
		in.sign()
		received := g.now
		g.after(int64(g.between(5, 15)), 2, func() {
			share := g.between(92, 99)
			fwd := amt * share / 100
			tx := g.emit(&ledger.Transfer{To: sink.addr, Asset: ledger.CoinSymbol, Amount: fwd}, mule)
			g.move(mule, sink, g.coin, fwd)
			g.label(tx, ScenarioRapid, mule.addr.String(), "received=%d received_tx=%s forwarded=%d share_pct=%d after_s=%d window_s=%d",
				amt, in.Hash, fwd, share, g.now-received, rapidWindow)
			g.done()
		})
	})
	return true
}

// scnWatch: a broker opens an account for a party on the regulator's watch list (Watchlist),
// listed by its owner_ref or, alternately, by its address; a client then pays it a little
// coin or, when no client can, UPGW credits it reward points. The registration and the credit
// both name the account: one line each, subject the account.
func (g *Generator) scnWatch() bool {
	if g.watchUsed >= watchSlots {
		return false
	}
	slot := g.watchUsed
	g.watchUsed++
	name := g.watchName(slot)
	a := g.newAccount(name, ledger.KindIndividual, brokers[slot%2], exchanges, g.ownerRef(name), roleScenario)
	reg := g.register(a)
	listed := watchListedBy(slot)
	g.label(reg, ScenarioWatch, a.addr.String(), "listed_by=%s slot=%d tx=register_account sponsor=%s", listed, slot, a.sponsor)
	g.scnActive++
	d := g.activeIn(a)
	g.after(d, d, func() {
		amt := g.between(1_000, 5_000) * fenPerYuan
		payer := g.pickClean(func(p *account) bool { return g.paySide(p) && g.coinRoom(p) >= amt })
		if payer != nil {
			tx := g.emit(&ledger.Transfer{To: a.addr, Asset: ledger.CoinSymbol, Amount: amt}, payer)
			g.move(payer, a, g.coin, amt)
			g.label(tx, ScenarioWatch, a.addr.String(), "listed_by=%s slot=%d tx=transfer from=%s amount=%d", listed, slot, payer.addr, amt)
		} else {
			pts := g.bySymbol["UP-PTS"]
			qty := g.between(1, 10) * pts.spec.lot
			tx := g.mint(pts, a, qty)
			g.label(tx, ScenarioWatch, a.addr.String(), "listed_by=%s slot=%d tx=mint asset=%s amount=%d", listed, slot, pts.symbol, qty)
		}
		g.done()
	})
	return true
}

// closed reports whether a venue is out of session for sessionMargin either side of now, so
// that the block carrying a trade placed now is out of session too.
func (g *Generator) closed(venue string) bool {
	t := time.Unix(g.now, 0)
	for _, d := range []time.Duration{-sessionMargin, 0, sessionMargin} {
		if g.cfg.Session(venue, t.Add(d*time.Second)) {
			return false
		}
	}
	return true
}

// scnSession: a DvP between two clients, made as clean traffic makes them, at a venue that
// is closed (a commodity exchange's mid-morning break or the lunch break, any venue at
// night). The clients trade within the clean budgets and stay clean. One line, subject the
// venue.
func (g *Generator) scnSession() bool {
	first := g.rng.IntN(len(g.tradable))
	for i := range g.tradable {
		as := g.tradable[(first+i)%len(g.tradable)]
		venue := as.spec.body.Venue
		if !g.closed(venue) {
			continue
		}
		tx := g.dvp(as, "OFF-")
		if tx == nil {
			return false
		}
		tx.sign()
		g.label(tx, ScenarioSession, venue, "venue=%s local_time=%s asset=%s trade=%s",
			venue, time.Unix(g.now, 0).In(Shanghai).Format("Mon 15:04:05"), as.symbol, tx.Hash)
		return true
	}
	return false
}
