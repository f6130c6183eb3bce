package compliance

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/store"
)

// The differential generator's cases for the reserve, the future, gateway settlements,
// matched trades, structuring, the watch list and a cut DvP leg (differential_test.go
// drives them).

// attest is the bank's attestation of a reserve.
func (g *diffGen) attest(amount int64) []byte {
	return g.sign(&ledger.AttestReserves{Amount: uint64(amount), AsOf: g.now.Unix() - 60, Report: sha256.Sum256([]byte("diff"))}, memberKey("BOCS"))
}

// coinOp is RESERVE's traffic: an attestation at, a fen either side of the supply or the
// reserve again; one that covers a mint exactly (or a fen short or over) before it; a
// redemption to the bank; a burn of what the bank holds, part of it, or a fen more.
func (g *diffGen) coinOp(a ed25519.PrivateKey) [][]byte {
	bank := memberKey("BOCS")
	switch g.rnd.IntN(4) {
	case 0:
		amts := []int64{g.supply, g.supply + 1, g.supply - 1, g.reserve, g.reserve + 1, g.reserve - 1}
		return [][]byte{g.attest(max(1, amts[g.rnd.IntN(len(amts))]))}
	case 1:
		m := g.coinAmount(0)
		return [][]byte{g.attest(max(1, g.supply+m+int64(g.rnd.IntN(3)-1))),
			g.sign(&ledger.Mint{Asset: ledger.CoinSymbol, To: addr(a), Amount: uint64(m)}, bank)}
	case 2:
		return [][]byte{g.sign(&ledger.Transfer{To: addr(bank), Asset: ledger.CoinSymbol, Amount: uint64(g.coinAmount(g.bal(a, ledger.CoinSymbol)))}, a)}
	default:
		held := g.bal(bank, ledger.CoinSymbol)
		amts := []int64{held, held / 2, 1, held + 1}
		return [][]byte{g.sign(&ledger.Burn{Asset: ledger.CoinSymbol, Amount: uint64(max(1, amts[g.rnd.IntN(len(amts))]))}, bank)}
	}
}

// futuresOp is POS-LIM's traffic: the future from its holder at, a lot either side of, and
// half its position limit; between accounts (of one owner, a third of the time); back to
// the holder, all of it or down to the limit.
func (g *diffGen) futuresOp(a, b ed25519.PrivateKey) [][]byte {
	var amts []int64
	from, to := a, b
	switch g.rnd.IntN(3) {
	case 0:
		from, to = g.big, a
		amts = []int64{diffLimit, diffLimit + 1, diffLimit - 1, diffLimit / 2, diffLimit/2 + 1, 1, 2 * diffLimit}
	case 1:
		held := g.bal(a, diffFuture)
		amts = []int64{held, held / 2, 1, diffLimit - g.bal(b, diffFuture), diffLimit + 1 - g.bal(b, diffFuture)}
	default:
		held := g.bal(a, diffFuture)
		to = g.big
		amts = []int64{held, held - diffLimit, 1}
	}
	amt := max(1, amts[g.rnd.IntN(len(amts))])
	return [][]byte{g.sign(&ledger.Transfer{To: addr(to), Asset: diffFuture, Amount: uint64(amt)}, from)}
}

// gatewayOp is SETTLE-FAIL's traffic: a lock of the stock through UPGW whose deadline is a
// second to a day ahead (step lands blocks on it and a second either side), or the
// gateway's confirmation or failure of an open one.
func (g *diffGen) gatewayOp(a, b ed25519.PrivateKey) [][]byte {
	if len(g.locks) == 0 || g.rnd.IntN(2) == 0 {
		if g.bal(a, diffStock) == 0 || g.rnd.IntN(3) == 0 {
			a = g.big // a seller that has the stock
		}
		ttls := []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, time.Minute - time.Second, time.Minute, time.Hour, 24 * time.Hour}
		return [][]byte{g.sign(&ledger.LockForSettlement{Buyer: addr(b), Asset: diffStock, Quantity: uint64(g.stockAmount(g.bal(a, diffStock))),
			Gateway: "UPGW", FiatAmount: uint64(g.coinAmount(0)), Deadline: g.now.Add(ttls[g.rnd.IntN(len(ttls))]).Unix(), Ref: "G"}, a)}
	}
	id := g.locks[g.rnd.IntN(len(g.locks))].id
	if g.rnd.IntN(4) == 0 {
		return [][]byte{g.sign(&ledger.FailSettlement{Settlement: id, Reason: "fiat returned"}, memberKey("UPGW"))}
	}
	return [][]byte{g.sign(&ledger.ConfirmPayment{Settlement: id, PaymentRef: "P"}, memberKey("UPGW"))}
}

// matched is MATCHED's case: x sells the stock to o1, and o2 (o1 or another account of its
// owner) sells to y, 0 to 6 seconds later, by DvP or a gateway settlement confirmed then;
// sizes and prices equal, at 1% of each other, or a unit outside. y is x now and then, so
// that both owners are linked.
func (g *diffGen) matched() {
	i := g.rnd.IntN(len(g.accts))
	o1, o2 := g.accts[i], g.accts[i]
	if j := g.rnd.IntN(len(g.accts)); g.owners[j] == g.owners[i] {
		o2 = g.accts[j]
	}
	x := g.big
	if j := g.rnd.IntN(len(g.accts)); j != i && g.rnd.IntN(2) == 0 {
		x = g.accts[j]
	}
	y := x
	if j := g.rnd.IntN(len(g.accts)); g.rnd.IntN(3) != 0 {
		y = g.accts[j]
	}
	if addr(y) == addr(o2) {
		y = g.big
	}
	qa, qb, ca, cb := g.pairTerms()
	gateway := g.rnd.IntN(4) == 0
	prep := g.fund([]diffNeed{{o1, ca}, {y, cb}}, []diffNeed{{x, qa}, {o2, qb}})
	var lock []byte
	if gateway {
		lock = g.sign(&ledger.LockForSettlement{Buyer: addr(y), Asset: diffStock, Quantity: uint64(qb), Gateway: "UPGW",
			FiatAmount: uint64(cb), Deadline: g.now.Add(time.Hour).Unix(), Ref: "M"}, o2)
		g.block(append(prep, lock)...)
		g.now = g.now.Add(time.Second)
		prep = nil
	}
	gap := time.Duration(g.rnd.IntN(7)) * time.Second
	bFirst := gap == 0 && g.rnd.IntN(2) == 0 // in one block, the other way round
	var tradeA, tradeB []byte
	signA := func() {
		tradeA = g.sign(&ledger.SettleDvP{Venue: "SZFE", Seller: addr(x), Buyer: addr(o1), Asset: diffStock, Quantity: uint64(qa), Cash: uint64(ca), TradeRef: "MA"}, memberKey("SZFE"))
	}
	if !bFirst {
		signA() // signed in block order: a signer's nonces come in the order it executes them
	}
	if gateway {
		tradeB = g.sign(&ledger.ConfirmPayment{Settlement: ledger.TxHash(lock), PaymentRef: "MB"}, memberKey("UPGW"))
	} else {
		tradeB = g.sign(&ledger.SettleDvP{Venue: "SZFE", Seller: addr(o2), Buyer: addr(y), Asset: diffStock, Quantity: uint64(qb), Cash: uint64(cb), TradeRef: "MB"}, memberKey("SZFE"))
	}
	switch {
	case bFirst:
		signA()
		g.block(append(prep, tradeB, tradeA)...)
	case gap == 0:
		g.block(append(prep, tradeA, tradeB)...)
	default:
		g.block(append(prep, tradeA)...)
		g.now = g.now.Add(gap)
		g.block(tradeB)
	}
	g.step()
}

// structuring is STRUCT's case: one owner's accounts, funded, each pay in the band below a
// threshold three times, an hour, a day, or five days (less a second, or not) apart.
func (g *diffGen) structuring() {
	i := g.rnd.IntN(len(g.accts))
	t := []int64{defaultLVIndividual, defaultLVInstitution}[g.rnd.IntN(2)]
	var payers []ed25519.PrivateKey
	var funds [][]byte
	for j, k := range g.accts {
		if g.owners[j] == g.owners[i] {
			payers = append(payers, k)
			funds = append(funds, g.sign(&ledger.Mint{Asset: ledger.CoinSymbol, To: addr(k), Amount: uint64(3 * t)}, memberKey("BOCS")))
		}
	}
	g.block(funds...)
	for range 3 {
		g.now = g.now.Add([]time.Duration{time.Second, time.Hour, 24 * time.Hour, 5*24*time.Hour - time.Second, 5 * 24 * time.Hour}[g.rnd.IntN(5)])
		payer, to := payers[g.rnd.IntN(len(payers))], g.accts[g.rnd.IntN(len(g.accts))]
		if addr(to) == addr(payer) {
			to = g.big
		}
		amt := []int64{t * 9 / 10, t*9/10 - 1, t * 95 / 100, t - 1}[g.rnd.IntN(4)]
		g.block(g.sign(&ledger.Transfer{To: addr(to), Asset: ledger.CoinSymbol, Amount: uint64(amt)}, payer))
	}
	g.step()
}

// pairTerms are the sizes and prices of a matched pair: b's size equal to a's, 1% off (the
// most within the tolerance) or a unit further; its price equal, the least within 1% below
// a's or a fen under, 1% above or a fen over.
func (g *diffGen) pairTerms() (qa, qb, ca, cb int64) {
	qa = []int64{100, 1_000, 10_000}[g.rnd.IntN(3)]
	qb = []int64{qa, qa - qa/100, qa - qa/100 - 1, qa + qa/100, qa + qa/100 + 1}[g.rnd.IntN(5)]
	ca = qa * []int64{100, 1_000, 12_345}[g.rnd.IntN(3)]
	lo := (99*ca*qb + 100*qa - 1) / (100 * qa)
	cb = max(1, []int64{ca * qb / qa, lo, lo - 1, ca * qb * 101 / (100 * qa), ca*qb*101/(100*qa) + 1}[g.rnd.IntN(5)])
	return qa, qb, ca, cb
}

// diffNeed is an amount an account must hold.
type diffNeed struct {
	k   ed25519.PrivateKey
	amt int64
}

// fund returns the mints and transfers from the stock's holder that give each account the
// coin and the stock it lacks.
func (g *diffGen) fund(coin, stock []diffNeed) [][]byte {
	var txs [][]byte
	for _, n := range coin {
		if g.bal(n.k, ledger.CoinSymbol) < n.amt {
			txs = append(txs, g.sign(&ledger.Mint{Asset: ledger.CoinSymbol, To: addr(n.k), Amount: uint64(n.amt)}, memberKey("BOCS")))
		}
	}
	for _, n := range stock {
		if addr(n.k) != addr(g.big) && g.bal(n.k, diffStock) < n.amt {
			txs = append(txs, g.sign(&ledger.Transfer{To: addr(n.k), Asset: diffStock, Amount: uint64(n.amt)}, g.big))
		}
	}
	return txs
}

// watchList uploads, for 7 seeds in 8, a watch list naming an owner, an account of another
// owner, an address never registered and now and then the stock's holder; it returns the
// list as the reference reads it.
func (g *diffGen) watchList(db *store.DB) *refWatchList {
	if g.rnd.IntN(8) == 0 {
		return nil
	}
	w := &refWatchList{version: 1, addrs: map[ledger.Address]string{}, owners: map[ledger.Hash]string{}}
	o := g.owners[g.rnd.IntN(len(g.owners))]
	w.owners[diffOwner(o)] = "diff owner"
	if j := g.rnd.IntN(len(g.accts)); g.owners[j] != o {
		w.addrs[addr(g.accts[j])] = "diff account"
	}
	if g.rnd.IntN(3) == 0 {
		w.addrs[addr(g.big)] = "diff holder"
	}
	w.addrs[addr(demoKey("diff/stranger"))] = "diff stranger"
	var csv strings.Builder
	csv.WriteString("value,reason\n")
	for h, r := range w.owners {
		fmt.Fprintf(&csv, "%s,%s\n", h, r)
	}
	for a, r := range w.addrs {
		fmt.Fprintf(&csv, "%s,%s\n", strings.ToUpper(a.String()), r)
	}
	v, _, err := UploadWatchlist(context.Background(), db, strings.NewReader(csv.String()), "tester", "differential")
	if err != nil || v != 1 {
		g.t.Fatalf("watch list upload: version %d, %v", v, err)
	}
	return w
}

// cutLeg deletes, a time in four, the cash leg of one of the DvPs settled since the last
// call from the synced rows: DVP-ATOM's case, which the ledger never makes. The rows then
// disagree with themselves: RAPID folds a payer's balance from its legs, and the reference
// reads the ledger's balances. So the DvP is one whose parties pay no coin from its block
// on, and RAPID never reads their balances where the two differ.
func (g *diffGen) cutLeg(db *store.DB) {
	var quiet []ledger.Hash
	for _, d := range g.dvps {
		if !g.paysFrom(d.block, d.id, d.seller, d.buyer) {
			quiet = append(quiet, d.id)
		}
	}
	g.dvps = nil
	if len(quiet) == 0 || g.rnd.IntN(4) != 0 {
		return
	}
	id := quiet[g.rnd.IntN(len(quiet))]
	tag, err := db.Pool.Exec(context.Background(), `DELETE FROM settlement_legs WHERE tx_hash = $1 AND leg = 'cash'`, id[:])
	if err != nil || tag.RowsAffected() != 1 {
		g.t.Fatalf("cut the cash leg of %s: %d rows, %v", id, tag.RowsAffected(), err)
	}
	g.cuts = append(g.cuts, id)
}

// paysFrom reports whether one of parties pays coin (a leg or a burn) in g.blocks[from:],
// but for the transaction skip.
func (g *diffGen) paysFrom(from int, skip ledger.Hash, parties ...ledger.Address) bool {
	for _, b := range g.blocks[from:] {
		for i, r := range b.TxResults {
			if ledger.Code(r.Code) != ledger.CodeOK || ledger.TxHash(b.Txs[i]) == skip {
				continue
			}
			evs, err := ledger.TxEvents(r)
			if err != nil {
				g.t.Fatal(err)
			}
			for _, ev := range evs {
				switch e := ev.(type) {
				case *ledger.TransferEvent:
					if e.Asset == ledger.CoinSymbol && slices.Contains(parties, e.From) {
						return true
					}
				case *ledger.BurnEvent:
					if e.Asset == ledger.CoinSymbol && slices.Contains(parties, e.From) {
						return true
					}
				}
			}
		}
	}
	return false
}

// cut removes from the history the cash legs the test deleted from the synced rows: every
// rule reads the rows, and the reference must read what they say.
func (l *refLedger) cut(ids []ledger.Hash) {
	for _, id := range ids {
		for i := range l.txs {
			if l.txs[i].hash != id.String() {
				continue
			}
			var kept []ledger.Event
			for _, ev := range l.txs[i].events {
				if e, ok := ev.(*ledger.TransferEvent); !ok || e.Leg != "cash" {
					kept = append(kept, ev)
				}
			}
			l.txs[i].events = kept
		}
	}
}
