package compliance

import (
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// sortSlice sorts stably by less.
func sortSlice[T any](s []T, less func(a, b *T) bool) {
	sort.SliceStable(s, func(i, j int) bool { return less(&s[i], &s[j]) })
}

// withinBP reports whether a and b differ by at most bp basis points of the larger, exactly.
func withinBP(a, b *big.Int, bp int64) bool {
	hi, lo := a, b
	if a.Cmp(b) < 0 {
		hi, lo = b, a
	}
	d := new(big.Int).Sub(hi, lo)
	d.Mul(d, big.NewInt(10_000))
	return d.Cmp(new(big.Int).Mul(hi, big.NewInt(bp))) <= 0
}

// maxEvidence bounds the evidence listed on one violation; the figures keep the totals.
const maxEvidence = 50

// capEvidence keeps the last maxEvidence items, those nearest the trip.
func capEvidence(ev []Evidence) []Evidence {
	if len(ev) > maxEvidence {
		return append([]Evidence(nil), ev[len(ev)-maxEvidence:]...)
	}
	return ev
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

// coin renders an amount of the settlement coin, counted in fen, as people read it in
// summaries and evidence: "12.25 CNYS", from the integer. The figures keep the integers.
func coin[T ~int64 | ~uint64](v T) string {
	if v < 0 {
		return "-" + ledger.FormatAmount(uint64(-v), ledger.CoinDecimals) + " " + ledger.CoinSymbol
	}
	return ledger.FormatAmount(uint64(v), ledger.CoinDecimals) + " " + ledger.CoinSymbol
}

// durationText is a window in words: "1 hour", "5 days", "90 minutes", "45 seconds".
func durationText(d time.Duration) string {
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}} {
		if d >= u.d && d%u.d == 0 {
			n := int64(d / u.d)
			if n == 1 {
				return "1 " + u.name
			}
			return fmt.Sprintf("%d %ss", n, u.name)
		}
	}
	return d.String()
}
