package compliance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"time"
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
	var out []Finding
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
			out = append(out, matchedPairs(e, p, a, b)...)
		}
	}
	return out, nil
}

// matchedPairs reports the trades a and b, b the later, once for each owner on opposite
// sides of them: two when two owners trade back with each other.
func matchedPairs(e *Env, p *MatchedParams, a, b *trade) []Finding {
	f, ok := matchedPair(e, p, a, b)
	if !ok {
		return nil
	}
	out := []Finding{f}
	if o := e.acct(a.seller).owner; string(o) == string(e.acct(b.buyer).owner) && ownerHex(o) != f.Subject {
		g := f
		g.Subject, g.Member, g.Members = ownerHex(o), e.acct(b.buyer).sponsor, matchedMembers(e, o, a, b)
		out = append(out, g)
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

// matchedPair reports the trades a and b, b the later, if one owner is on opposite sides of
// them and their sizes and prices agree within the tolerance. The member is the owner's
// account in b, on the side that links it.
func matchedPair(e *Env, p *MatchedParams, a, b *trade) (Finding, bool) {
	var linked, acct []byte
	switch {
	case string(e.acct(a.buyer).owner) == string(e.acct(b.seller).owner):
		linked, acct = e.acct(a.buyer).owner, b.seller
	case string(e.acct(a.seller).owner) == string(e.acct(b.buyer).owner):
		linked, acct = e.acct(a.seller).owner, b.buyer
	default:
		return Finding{}, false
	}
	qa, qb := big.NewInt(a.qty), big.NewInt(b.qty)
	pa := new(big.Int).Mul(big.NewInt(a.cash), qb) // prices compared as cash·qty of the other
	pb := new(big.Int).Mul(big.NewInt(b.cash), qa)
	if !withinBP(qa, qb, p.ToleranceBP) || !withinBP(pa, pb, p.ToleranceBP) {
		return Finding{}, false
	}
	first, second := a, b
	if bytes.Compare(second.id, first.id) < 0 { // the order of their hex forms
		first, second = second, first
	}
	h, at := max(a.height, b.height), a.time
	if b.time.After(at) {
		at = b.time
	}
	return Finding{
		SubjectKind: SubjectOwner, Subject: ownerHex(linked), WindowKey: hashHex(first.id) + "/" + hashHex(second.id),
		Member: e.acct(acct).sponsor, Members: matchedMembers(e, linked, a, b), Asset: a.asset, Height: h, Time: at, LastHeight: h,
		Summary: fmt.Sprintf("two trades in %s %s apart, sizes %d and %d, one owner on opposite sides", a.asset, b.time.Sub(a.time), a.qty, b.qty),
		Figures: map[string]any{"window_seconds": p.WindowSeconds, "tolerance_bp": p.ToleranceBP,
			"qty": []int64{first.qty, second.qty}, "cash": []int64{first.cash, second.cash}},
		Evidence: []Evidence{
			{Tx: hashHex(first.id), Height: first.height, Time: first.time, Note: fmt.Sprintf("%s: %s sold %d for %s to %s", first.kind, addrHex(first.seller), first.qty, coin(first.cash), addrHex(first.buyer))},
			{Tx: hashHex(second.id), Height: second.height, Time: second.time, Note: fmt.Sprintf("%s: %s sold %d for %s to %s", second.kind, addrHex(second.seller), second.qty, coin(second.cash), addrHex(second.buyer))},
		},
	}, true
}
