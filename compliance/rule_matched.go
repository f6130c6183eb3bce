package compliance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// MatchedParams are the parameters of MATCHED.
type MatchedParams struct {
	// WindowSeconds is Δt: the most time between the two trades.
	WindowSeconds int64 `json:"window_seconds"`
	// ToleranceBP is p: size and price agree within this share of the larger, in basis points.
	ToleranceBP int64 `json:"tolerance_bp"`
}

// Validate implements Params.
func (p *MatchedParams) Validate() error {
	if p.WindowSeconds < 0 || p.WindowSeconds > 86400 {
		return errors.New("window_seconds must be in [0, 86400]")
	}
	if p.ToleranceBP < 0 || p.ToleranceBP > 10_000 {
		return errors.New("tolerance_bp must be in [0, 10000]")
	}
	return nil
}

// evalMatched pairs two distinct trades in one instrument within Δt whose sizes and prices
// agree within p, the buyer of one sharing a beneficial owner with the seller of the other.
// A pair is reported when its later trade is in the range.
func evalMatched(ctx context.Context, e *Env, p *MatchedParams, r Range) ([]Finding, error) {
	w := time.Duration(p.WindowSeconds) * time.Second
	h1, err := e.heightAtOrAfter(ctx, r.FromTime.Add(-w))
	if err != nil {
		return nil, err
	}
	shared, err := e.trades(ctx, min(h1, r.From), r.To)
	if err != nil {
		return nil, err
	}
	ts := slices.Clone(shared) // sorted below
	var addrs [][]byte
	for _, t := range ts {
		addrs = append(addrs, t.seller, t.buyer)
	}
	if err := e.loadAccounts(ctx, addrs); err != nil {
		return nil, err
	}
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].time.Before(ts[j].time) })
	// A pair needs one owner on opposite sides in one asset: index the trades by asset and
	// buyer's owner, and by asset and seller's owner, so each trade meets only its candidates
	// instead of every trade of the window.
	type side struct{ asset, owner string }
	byBuyer, bySeller := map[side][]int{}, map[side][]int{}
	var pairs [][2]*trade
	var cands []int
	for j := range ts {
		b := &ts[j]
		cands = cands[:0]
		buys, sells := side{b.asset, string(e.acct(b.buyer).owner)}, side{b.asset, string(e.acct(b.seller).owner)}
		// Earlier trades whose buyer is b's seller's owner, or whose seller is b's buyer's.
		for _, list := range [][]int{byBuyer[sells], bySeller[buys]} {
			for x := len(list) - 1; x >= 0 && b.time.Sub(ts[list[x]].time) <= w; x-- {
				cands = append(cands, list[x])
			}
		}
		byBuyer[buys] = append(byBuyer[buys], j)
		bySeller[sells] = append(bySeller[sells], j)
		// Nearest first, each once, as a scan back from b would meet them.
		sort.Sort(sort.Reverse(sort.IntSlice(cands)))
		for n, i := range cands {
			if n > 0 && cands[n-1] == i {
				continue
			}
			a := &ts[i]
			if a.height < r.From && b.height < r.From {
				continue
			}
			if matchedPair(e, p, a, b) {
				pairs = append(pairs, [2]*trade{a, b})
			}
		}
	}
	return e.matchedFindings(ctx, p, pairs)
}

// matchedFindings reports the pairs of trades matchedPair accepted.
func (e *Env) matchedFindings(ctx context.Context, p *MatchedParams, pairs [][2]*trade) ([]Finding, error) {
	assets := make([]string, 0, len(pairs))
	for _, pr := range pairs {
		assets = append(assets, pr[0].asset)
	}
	if err := e.loadDecimals(ctx, assets); err != nil {
		return nil, err
	}
	out := make([]Finding, 0, len(pairs))
	for _, pr := range pairs {
		for _, l := range matchedLinks(e, pr[0], pr[1]) {
			out = append(out, e.matchedFinding(p, pr[0], pr[1], l))
		}
	}
	return out, nil
}

// matchedPair reports whether one owner is on opposite sides of the trades a and b, b the
// later, and their sizes and prices agree within the tolerance.
func matchedPair(e *Env, p *MatchedParams, a, b *trade) bool {
	if len(matchedLinks(e, a, b)) == 0 {
		return false
	}
	qa, qb := big.NewInt(a.qty), big.NewInt(b.qty)
	pa := new(big.Int).Mul(big.NewInt(a.cash), qb) // prices compared as cash·qty of the other
	pb := new(big.Int).Mul(big.NewInt(b.cash), qa)
	return withinBP(qa, qb, p.ToleranceBP) && withinBP(pa, pb, p.ToleranceBP)
}

// matchedLink is an owner on opposite sides of two trades, with its account in the later
// one (b, which tripped the rule).
type matchedLink struct {
	owner, inB []byte
}

// matchedLinks returns each owner on opposite sides of a and b: two when two owners trade
// back with each other, each then a violation of its own.
func matchedLinks(e *Env, a, b *trade) []matchedLink {
	var out []matchedLink
	if o := e.acct(a.buyer).owner; string(o) == string(e.acct(b.seller).owner) {
		out = append(out, matchedLink{o, b.seller})
	}
	if o := e.acct(a.seller).owner; string(o) == string(e.acct(b.buyer).owner) && (len(out) == 0 || string(o) != string(out[0].owner)) {
		out = append(out, matchedLink{o, b.buyer})
	}
	return out
}

// matchedMembers are the members of the owner's accounts in the two trades.
func matchedMembers(e *Env, owner []byte, a, b *trade) []string {
	var out []string
	for _, party := range [][]byte{a.seller, a.buyer, b.seller, b.buyer} {
		if string(e.acct(party).owner) == string(owner) {
			out = append(out, e.acct(party).sponsor)
		}
	}
	return out
}

// matchedFinding reports the matched trades a and b, b the later, for the owner l links. Its
// members are those of the owner's accounts in them, not of the clients on the other sides.
func (e *Env) matchedFinding(p *MatchedParams, a, b *trade, l matchedLink) Finding {
	first, second := a, b
	if bytes.Compare(second.id, first.id) < 0 { // the order of their hex forms
		first, second = second, first
	}
	h, at := max(a.height, b.height), a.time
	if b.time.After(at) {
		at = b.time
	}
	return Finding{
		SubjectKind: SubjectOwner, Subject: ownerHex(l.owner), WindowKey: hashHex(first.id) + "/" + hashHex(second.id),
		Member: e.acct(l.inB).sponsor, Members: matchedMembers(e, l.owner, a, b), Asset: a.asset, Height: h, Time: at, LastHeight: h,
		Summary: fmt.Sprintf("two trades in %s %s apart, of %s and %s, one owner on opposite sides",
			a.asset, durationText(b.time.Sub(a.time)), e.amount(a.qty, a.asset), e.amount(b.qty, b.asset)),
		Figures: map[string]any{"window_seconds": p.WindowSeconds, "tolerance_bp": p.ToleranceBP,
			"qty": []int64{first.qty, second.qty}, "cash": []int64{first.cash, second.cash}},
		Evidence: []Evidence{e.tradeEvidence(first), e.tradeEvidence(second)},
	}
}

// tradeEvidence is a trade as evidence: who sold how much to whom, for what.
func (e *Env) tradeEvidence(t *trade) Evidence {
	return Evidence{Tx: hashHex(t.id), Height: t.height, Time: t.time,
		Note: fmt.Sprintf("%s: %s sold %s for %s to %s", tradeKindText(t.kind), addrHex(t.seller), e.amount(t.qty, t.asset),
			tradeCashText(t), addrHex(t.buyer)),
		Accounts: []EvidenceAccount{e.mover(t.seller, "seller", t.asset, t.qty), e.mover(t.buyer, "buyer", t.asset, t.qty)}}
}

// tradeKindText is a trade's kind in words.
func tradeKindText(kind string) string {
	if kind == "gateway" {
		return "gateway settlement"
	}
	return "DvP"
}

// tradeCashText is a trade's price in its currency: the coin for a DvP, yuan paid off-chain
// for a gateway settlement.
func tradeCashText(t *trade) string {
	if t.kind == "gateway" {
		return fiatText(t.cash)
	}
	return coin(t.cash)
}

// fiatText is an amount of yuan paid off-chain, counted in fen like the coin: "10.00 CNY".
func fiatText(v int64) string {
	return strings.TrimSuffix(coin(v), ledger.CoinSymbol) + fiatSymbol
}

// fiatSymbol labels a gateway settlement's off-chain payment.
const fiatSymbol = "CNY"
