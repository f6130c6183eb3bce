package compliance

import (
	"fmt"
	"math/big"
	"sort"
	"strings"
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

// bpText is a share in basis points as a percentage: "90%", "1.25%".
func bpText(bp int64) string {
	if bp%100 == 0 {
		return fmt.Sprintf("%d%%", bp/100)
	}
	if bp < 0 {
		return "-" + ledger.FormatAmount(uint64(-bp), 2) + "%"
	}
	return ledger.FormatAmount(uint64(bp), 2) + "%"
}

// durationText is a window or a gap in words: "1 hour", "5 days", "90 minutes", "45
// seconds"; one that no unit above a second divides is counted in its parts, "31 days 1
// second". Parts of a second are dropped: block times are what the rules compare, and a
// reviewer reads seconds.
func durationText(d time.Duration) string {
	if d < 0 {
		return "minus " + durationText(-d)
	}
	if d < time.Second {
		if d == 0 {
			return "0 seconds"
		}
		return "less than a second"
	}
	d = d.Truncate(time.Second)
	units := []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}}
	for _, u := range units[:3] {
		if d%u.d == 0 {
			return countText(int64(d/u.d), u.name)
		}
	}
	if d < time.Minute {
		return countText(int64(d/time.Second), "second")
	}
	var parts []string
	for _, u := range units {
		if n := int64(d / u.d); n > 0 {
			parts = append(parts, countText(n, u.name))
			d -= time.Duration(n) * u.d
		}
	}
	return strings.Join(parts, " ")
}

// DurationText is a duration in words as the rules write it in summaries: "5 days", "90
// minutes", "31 days 1 second".
func DurationText(d time.Duration) string { return durationText(d) }

// countText is "1 day", "5 days".
func countText(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
