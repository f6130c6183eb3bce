package loadgen

import (
	"fmt"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// cleanKind is one kind of clean transaction and its weight in the mix, per mille.
type cleanKind struct {
	name   string
	weight int
	try    func(*Generator) bool
}

// cleanMix is the steady traffic. A kind that finds nothing to do (no party with the room, a
// venue out of session) gives way to the fallbacks, so the stream never stalls; under load the
// coin budgets run out first and asset traffic takes over.
var cleanMix = []cleanKind{
	{"dvp", 450, (*Generator).tryDvP},
	{"gateway_settlement", 80, (*Generator).tryLock},
	{"asset_transfer", 130, (*Generator).tryAssetTransfer},
	{"coin_transfer", 60, (*Generator).tryCoinTransfer},
	{"issue_more", 50, (*Generator).tryIssueMore},
	{"coin_top_up", 30, (*Generator).tryTopUp},
	{"onboard", 30, (*Generator).tryOnboard},
	{"redeem", 20, (*Generator).tryRedeem},
	{"burn", 15, (*Generator).tryBurn},
	{"freeze", 2, (*Generator).tryFreeze},
}

var cleanFallback = []func(*Generator) bool{
	(*Generator).tryLock, (*Generator).tryAssetTransfer, (*Generator).tryLock, (*Generator).tryOnboard,
	(*Generator).tryIssueMore,
}

var cleanTotal = func() int {
	t := 0
	for _, k := range cleanMix {
		t += k.weight
	}
	return t
}()

// steady emits the next transaction of the steady stream: a scenario step now and then, clean
// traffic otherwise.
func (g *Generator) steady() {
	if g.now-g.lastAttest >= attestEvery {
		// Keep the attestation fresh even when nobody mints (ATTEST-AGE).
		g.attest(max(g.reserve, g.coin.supply))
		return
	}
	if g.cfg.Violations > 0 && g.scnActive < g.cfg.MaxScenarios && g.rng.Float64() < g.cfg.Violations {
		if g.startScenario() {
			return
		}
	}
	r := g.rng.IntN(cleanTotal)
	for _, k := range cleanMix {
		if r < k.weight {
			if k.try(g) {
				return
			}
			break
		}
		r -= k.weight
	}
	// Fallbacks from a random start, so that no one kind takes over when coin runs short.
	first := g.rng.IntN(len(cleanFallback))
	for i := range cleanFallback {
		if cleanFallback[(first+i)%len(cleanFallback)](g) {
			return
		}
	}
	// Nothing else is possible yet (the clients are not active): reward points need no
	// signature of theirs, only their registration, which came earlier in the stream.
	for range pickTries {
		a := g.clean[g.rng.IntN(len(g.clean))]
		if a.role == roleClean && !a.frozen {
			g.mint(g.bySymbol["UP-PTS"], a, g.between(1, 10)*100)
			return
		}
	}
	g.attest(max(g.reserve, g.coin.supply))
}

// quietIn reports whether the account received none of the asset lately, so that it may
// sell it; quietOut the converse.
func (g *Generator) quietIn(a *account, as *assetState) bool {
	return a.lastIn[as.idx] < g.now-cleanMatchedGap
}

func (g *Generator) quietOut(a *account, as *assetState) bool {
	return a.lastOut[as.idx] < g.now-cleanMatchedGap
}

// paySide reports whether the account may pay coin now: it is a payer, or idle and free to
// become one. receiveSide is the converse.
func (g *Generator) paySide(a *account) bool     { return a.payer || a.coin.idle(g.now) }
func (g *Generator) receiveSide(a *account) bool { return !a.payer || a.coin.idle(g.now) }

// coinRoom is the most a clean account may pay in coin now.
func (g *Generator) coinRoom(a *account) uint64 {
	return min(a.available(g.coin.idx), a.coin.debitRoom(g.now), a.coin.lvRoom(g.now, a.kind), cleanMaxCoinMove)
}

// tryDvP settles a trade at a venue in session: mostly on the venue's standing authorisation,
// sometimes signed by both parties.
func (g *Generator) tryDvP() bool {
	var as *assetState
	for range 3 {
		if c := g.tradable[g.rng.IntN(len(g.tradable))]; g.inSession(c.spec.body.Venue) {
			as = c
			break
		}
	}
	if as == nil {
		return false
	}
	return g.dvp(as, "") != nil
}

// dvp settles a trade in as between two clients at its venue, whether in session or not,
// within the clean budgets; the trade reference starts with prefix and the venue. Nil means
// no pair of clients could trade now.
func (g *Generator) dvp(as *assetState, prefix string) *Tx {
	venue := as.spec.body.Venue
	lot := as.spec.lot
	price := g.jitter(as.spec.price)
	unit := lot * price
	seller := g.pickHolder(as, func(a *account) bool {
		return a.available(as.idx) >= lot && g.quietIn(a, as) && g.receiveSide(a) &&
			a.coin.lvRoom(g.now, a.kind) >= unit && a.coin.creditOK(g.now, unit)
	})
	if seller == nil {
		return nil
	}
	buyer := g.pickClean(func(a *account) bool {
		return a != seller && g.paySide(a) && g.quietOut(a, as) && g.coinRoom(a) >= unit && g.canReceive(a, as, lot)
	})
	if buyer == nil {
		return nil
	}
	maxCash := min(g.coinRoom(buyer), seller.coin.lvRoom(g.now, seller.kind))
	maxLots := min(as.spec.maxLots, seller.available(as.idx)/lot, maxCash/unit,
		(as.holdCap()-buyer.bal[as.idx]-buyer.inbound[as.idx])/lot)
	if maxLots == 0 {
		return nil
	}
	lots := g.between(1, g.between(1, maxLots)) // small orders are the most common
	qty, cash := lots*lot, lots*unit
	if !seller.coin.creditOK(g.now, cash) {
		return nil
	}
	g.trades++
	body := &ledger.SettleDvP{
		Venue: venue, Seller: seller.addr, Buyer: buyer.addr, Asset: as.symbol, Quantity: qty, Cash: cash,
		TradeRef: fmt.Sprintf("%s%s-%08d", prefix, venue, g.trades),
	}
	var tx *Tx
	if seller.hasVenue(venue) && buyer.hasVenue(venue) && g.rng.IntN(100) < 85 {
		tx = g.emit(body, g.members[venue])
	} else {
		tx = g.emit(body, seller, buyer)
	}
	g.move(seller, buyer, as, qty)
	g.move(buyer, seller, g.coin, cash)
	return tx
}

// tryLock starts a gateway settlement (asset on chain, funds off chain through UPGW), which
// the gateway confirms within seconds, far ahead of its deadline.
func (g *Generator) tryLock() bool {
	as := g.tradable[g.rng.IntN(len(g.tradable))]
	lot := as.spec.lot
	seller := g.pickHolder(as, func(a *account) bool {
		return a.available(as.idx) >= lot && g.quietIn(a, as)
	})
	if seller == nil {
		return false
	}
	buyer := g.pickClean(func(a *account) bool {
		return a != seller && g.quietOut(a, as) && g.canReceive(a, as, lot)
	})
	if buyer == nil {
		return false
	}
	maxLots := min(as.spec.maxLots, seller.available(as.idx)/lot,
		(as.holdCap()-buyer.bal[as.idx]-buyer.inbound[as.idx])/lot)
	if maxLots == 0 {
		return false
	}
	qty := g.between(1, maxLots) * lot
	lock := g.lock(seller, buyer, as, qty, g.now+cleanSettleDeadline)
	g.after(int64(g.between(3, 20)), 2, func() { g.confirm(lock, seller, buyer, as, qty) })
	return true
}

// lock emits a LockForSettlement by seller and models it.
func (g *Generator) lock(seller, buyer *account, as *assetState, qty uint64, deadline int64) *Tx {
	g.trades++
	tx := g.emit(&ledger.LockForSettlement{
		Buyer: buyer.addr, Asset: as.symbol, Quantity: qty, Gateway: gatewayID,
		FiatAmount: qty * g.jitter(as.spec.price), Deadline: deadline, Ref: fmt.Sprintf("OTC-%08d", g.trades),
	}, seller)
	tx.sign() // the settlement id is the hash of the lock
	seller.locked[as.idx] += qty
	buyer.inbound[as.idx] += qty
	seller.open++
	buyer.open++
	seller.lastOut[as.idx], buyer.lastIn[as.idx] = g.now, g.now
	buyer.lastActive = g.now
	return tx
}

// confirm emits the gateway's confirmation of a settlement and models the delivery.
func (g *Generator) confirm(lock *Tx, seller, buyer *account, as *assetState, qty uint64) *Tx {
	tx := g.emit(&ledger.ConfirmPayment{Settlement: lock.latest().Hash, PaymentRef: fmt.Sprintf("UP%012d", lock.Seq)}, g.members[gatewayID])
	g.closes(tx, lock, seller, buyer, as, true)
	seller.locked[as.idx] -= qty
	buyer.inbound[as.idx] -= qty
	seller.open--
	buyer.open--
	g.move(seller, buyer, as, qty)
	return tx
}

// release models a settlement that failed: the lock returns to the seller.
func (g *Generator) release(seller, buyer *account, as *assetState, qty uint64) {
	seller.locked[as.idx] -= qty
	buyer.inbound[as.idx] -= qty
	seller.open--
	buyer.open--
}

// tryAssetTransfer moves loyalty points mostly, sometimes receipts or securities, between two
// clients.
func (g *Generator) tryAssetTransfer() bool {
	var as *assetState
	switch r := g.rng.IntN(4); {
	case r < 2:
		as = g.bySymbol[[]string{"HT-PTS", "UP-PTS"}[r]]
	default:
		as = g.tradable[g.rng.IntN(len(g.tradable))]
		if as.spec.future() {
			return false // positions move by trading, not by gift
		}
	}
	lot := as.spec.lot
	from := g.pickHolder(as, func(a *account) bool {
		return a.available(as.idx) >= lot && g.quietIn(a, as)
	})
	if from == nil {
		return false
	}
	to := g.pickClean(func(a *account) bool {
		return a != from && g.quietOut(a, as) && g.canReceive(a, as, lot)
	})
	if to == nil {
		return false
	}
	maxLots := min(as.spec.maxLots, from.available(as.idx)/lot)
	if c := as.holdCap(); c != ^uint64(0) {
		maxLots = min(maxLots, (c-to.bal[as.idx]-to.inbound[as.idx])/lot)
	}
	if maxLots == 0 {
		return false
	}
	qty := g.between(1, maxLots) * lot
	g.emit(&ledger.Transfer{To: to.addr, Asset: as.symbol, Amount: qty}, from)
	g.move(from, to, as, qty)
	return true
}

// tryCoinTransfer is a small payment between two clients.
func (g *Generator) tryCoinTransfer() bool {
	lo := uint64(100 * fenPerYuan)
	from := g.pickClean(func(a *account) bool { return g.paySide(a) && g.coinRoom(a) >= lo })
	if from == nil {
		return false
	}
	amt := min(g.between(lo, 5_000*fenPerYuan), g.coinRoom(from))
	to := g.pickClean(func(a *account) bool {
		return a != from && g.receiveSide(a) && a.coin.lvRoom(g.now, a.kind) >= amt && a.coin.creditOK(g.now, amt)
	})
	if to == nil {
		return false
	}
	g.emit(&ledger.Transfer{To: to.addr, Asset: ledger.CoinSymbol, Amount: amt}, from)
	g.move(from, to, g.coin, amt)
	return true
}

// tryIssueMore mints reward points or new warehouse receipts (goods delivered into CMWH's
// warehouses) to a client; securities are never minted after their distribution.
func (g *Generator) tryIssueMore() bool {
	var as *assetState
	if g.rng.IntN(3) == 0 {
		as = g.bySymbol[[]string{"WR-CU", "WR-RB", "WR-SOY"}[g.rng.IntN(3)]]
	} else {
		as = g.bySymbol[[]string{"HT-PTS", "UP-PTS"}[g.rng.IntN(2)]]
	}
	to := g.pickClean(func(*account) bool { return true })
	if to == nil {
		return false
	}
	g.mint(as, to, g.between(1, as.spec.maxLots)*as.spec.lot)
	return true
}

// tryTopUp is a client's fiat deposit turned into coin.
func (g *Generator) tryTopUp() bool {
	lo := uint64(10_000 * fenPerYuan)
	to := g.pickClean(func(a *account) bool {
		return g.paySide(a) && a.coin.lvRoom(g.now, a.kind) >= 2*lo && a.coin.creditOK(g.now, lo)
	})
	if to == nil {
		return false
	}
	amt := g.between(10_000, 60_000) * fenPerYuan
	if to.kind == ledger.KindInstitution {
		amt = g.between(50_000, 250_000) * fenPerYuan
	}
	amt = max(lo, min(amt, to.coin.lvRoom(g.now, to.kind)/2))
	if !to.coin.creditOK(g.now, amt) {
		amt = lo
	}
	to.payer = true
	g.mintCoin(to, amt)
	return true
}

// tryOnboard opens an account for a new client, funded with coin most of the time: the
// population grows with the traffic, within MaxAccounts.
func (g *Generator) tryOnboard() bool {
	if len(g.accounts) >= g.cfg.MaxAccounts {
		return false
	}
	kind := ledger.KindIndividual
	if g.rng.IntN(100) < 15 {
		kind = ledger.KindInstitution
	}
	sponsor := brokers[g.rng.IntN(len(brokers))]
	if g.rng.IntN(5) == 0 {
		sponsor = exchanges[g.rng.IntN(len(exchanges))]
	}
	name := g.clientName(g.clients)
	g.clients++
	a := g.newAccount(name, kind, sponsor, pickVenues(g.rng), g.ownerRef(name), roleClean)
	g.register(a)
	g.clean = append(g.clean, a)
	if g.rng.IntN(5) != 0 {
		a.payer = true
		amt := g.between(20_000, 80_000) * fenPerYuan
		if kind == ledger.KindInstitution {
			amt = g.between(100_000, 300_000) * fenPerYuan
		}
		g.mintCoin(a, amt)
	}
	return true
}

// tryRedeem is a client redeeming coin for fiat: the coin goes back to the bank, which burns
// it later.
func (g *Generator) tryRedeem() bool {
	bank := g.members[bankID]
	lo := uint64(1_000 * fenPerYuan)
	from := g.pickClean(func(a *account) bool { return g.paySide(a) && g.coinRoom(a) >= lo })
	if from == nil {
		return false
	}
	amt := min(g.between(lo, 20_000*fenPerYuan), g.coinRoom(from))
	// The bank's own account is an institution account like any other: its receipts and
	// burns stay within the clean budgets too. So it takes redemptions for an hour, then
	// none until it has burned them, which it may do in full once they are two hours old.
	if g.bankCollectUntil == 0 {
		g.bankCollectUntil = g.now + 3600
	}
	// Its budget keeps room to burn all it holds.
	if g.now >= g.bankCollectUntil || bank.coin.lvRoom(g.now, bank.kind) < bank.bal[g.coin.idx]+2*amt ||
		!bank.coin.creditOK(g.now, amt) {
		return false
	}
	g.emit(&ledger.Transfer{To: bank.addr, Asset: ledger.CoinSymbol, Amount: amt}, from)
	g.move(from, bank, g.coin, amt)
	return true
}

// tryBurn burns redeemed coin held by the bank.
func (g *Generator) tryBurn() bool {
	bank := g.members[bankID]
	amt := min(bank.available(g.coin.idx), bank.coin.debitRoom(g.now), bank.coin.lvRoom(g.now, bank.kind), cleanMaxCoinMove)
	if amt < 100*fenPerYuan {
		return false
	}
	if bank.coin.idle(g.now) {
		g.bankCollectUntil = 0 // a new collection starts with the next redemption
	}
	g.emit(&ledger.Burn{Asset: ledger.CoinSymbol, Amount: amt}, bank)
	g.debit(bank, g.coin, amt)
	g.coin.supply -= amt
	return true
}

// tryFreeze has the regulator freeze an idle client for a while. Nothing touches the account
// while it is frozen, and it had nothing open, so the freeze leaves no trace in the rules.
func (g *Generator) tryFreeze() bool {
	if g.frozenClean >= 2 {
		return false
	}
	a := g.pickClean(func(a *account) bool { return a.open == 0 && a.lastActive < g.now-freezeIdle })
	if a == nil {
		return false
	}
	reg := g.regulator
	g.emit(&ledger.Freeze{Account: a.addr, Reason: "CSRC inquiry: account documents under review"}, reg)
	a.frozen = true
	g.frozenClean++
	g.after(int64(g.between(60, 900)), 0, func() {
		g.emit(&ledger.Unfreeze{Account: a.addr, Reason: "documents verified"}, reg)
		a.frozen = false
		a.usableAt = g.now + 5
		g.frozenClean--
	})
	return true
}
