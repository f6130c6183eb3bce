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

func TestFormatAmount(t *testing.T) {
	cases := []struct {
		v        uint64
		decimals uint8
		want     string
	}{
		{0, 0, "0"},
		{0, 2, "0.00"},
		{1, 2, "0.01"},
		{99, 2, "0.99"},
		{1225, 2, "12.25"},
		{100000, 2, "1000.00"},
		{7, 0, "7"},
		{5, 3, "0.005"},
		{MaxAmount, 0, "9223372036854775807"},
		{MaxAmount, 2, "92233720368547758.07"},
		{MaxAmount, 18, "9.223372036854775807"},
		{1, 18, "0.000000000000000001"},
		{^uint64(0), 2, "184467440737095516.15"},
	}
	for _, tc := range cases {
		if got := FormatAmount(tc.v, tc.decimals); got != tc.want {
			t.Errorf("FormatAmount(%d, %d) = %q, want %q", tc.v, tc.decimals, got, tc.want)
		}
	}
}

// FuzzFormatAmount: every amount the ledger allows formats to a decimal that parses back to it.
func FuzzFormatAmount(f *testing.F) {
	f.Add(uint64(1225), uint8(2))
	f.Add(uint64(MaxAmount), uint8(18))
	f.Add(uint64(0), uint8(0))
	f.Fuzz(func(t *testing.T, v uint64, decimals uint8) {
		v %= MaxAmount + 1
		decimals %= 19
		s := FormatAmount(v, decimals)
		back, err := ParseAmount(s, decimals)
		if err != nil || back != v {
			t.Fatalf("%d -> %q -> %d, %v", v, s, back, err)
		}
	})
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
