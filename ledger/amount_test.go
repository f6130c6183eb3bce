package ledger

import "testing"

func TestParseAmount(t *testing.T) {
	cases := []struct {
		in       string
		decimals uint8
		want     uint64
		ok       bool
	}{
		{"0", 2, 0, true},
		{"12", 2, 1200, true},
		{"12.5", 2, 1250, true},
		{"12.50", 2, 1250, true},
		{"0.01", 2, 1, true},
		{"12.505", 2, 0, false},
		{"12.", 2, 0, false},
		{".5", 2, 0, false},
		{"-1", 2, 0, false},
		{"1e3", 0, 0, false},
		{"9223372036854775807", 0, MaxAmount, true},
		{"9223372036854775808", 0, 0, false},
		{"92233720368547758.08", 2, 0, false},
		{"", 2, 0, false},
		{"7", 0, 7, true},
	}
	for _, tc := range cases {
		got, err := ParseAmount(tc.in, tc.decimals)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseAmount(%q, %d) = %d, %v; want %d, ok=%v", tc.in, tc.decimals, got, err, tc.want, tc.ok)
		}
	}
}

// FuzzParseAmount: whatever parses formats back to an equal value.
func FuzzParseAmount(f *testing.F) {
	f.Add("12.50", uint8(2))
	f.Add("9223372036854775807", uint8(0))
	f.Fuzz(func(t *testing.T, s string, decimals uint8) {
		decimals %= 19
		v, err := ParseAmount(s, decimals)
		if err != nil {
			return
		}
		back, err := ParseAmount(FormatAmount(v, decimals), decimals)
		if err != nil || back != v {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, v, FormatAmount(v, decimals), back, err)
		}
	})
}
