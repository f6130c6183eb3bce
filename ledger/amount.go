package ledger

import (
	"fmt"
	"strings"
)

// ParseAmount reads a decimal such as "1234.50" into an integer of the asset's smallest unit,
// exactly: no floating point is involved, and more fraction digits than the asset has is an
// error rather than a rounding.
func ParseAmount(s string, decimals uint8) (uint64, error) {
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || (hasDot && frac == "") {
		return 0, fmt.Errorf("amount %q: want digits, optionally with a fraction like 12.50", s)
	}
	if len(frac) > int(decimals) {
		return 0, fmt.Errorf("amount %q: at most %d decimal places", s, decimals)
	}
	digits := whole + frac + strings.Repeat("0", int(decimals)-len(frac))
	var v uint64
	for _, r := range digits {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("amount %q: %q is not a digit", s, r)
		}
		d := uint64(r - '0')
		if v > (MaxAmount-d)/10 {
			return 0, fmt.Errorf("amount %q exceeds the largest amount", s)
		}
		v = v*10 + d
	}
	return v, nil
}

// FormatAmount renders an integer amount of smallest units as a decimal with the asset's
// decimals, the inverse of ParseAmount.
func FormatAmount(v uint64, decimals uint8) string {
	s := fmt.Sprintf("%0*d", int(decimals)+1, v)
	if decimals == 0 {
		return s
	}
	cut := len(s) - int(decimals)
	return s[:cut] + "." + s[cut:]
}
