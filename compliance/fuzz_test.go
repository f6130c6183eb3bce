package compliance

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzParseWatchlist feeds the regulator's upload parser arbitrary files: it returns entries
// of a known kind and length with a reason, or an ErrInvalid error, and never panics.
func FuzzParseWatchlist(f *testing.F) {
	f.Add([]byte("value,reason\n" + strings.Repeat("ab", 32) + ",sanctioned\n" + strings.Repeat("CD", 20) + ",court order\n"))
	f.Add([]byte("# comment\n" + strings.Repeat("0", 40) + "\n"))
	f.Add([]byte("\"unterminated,x\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, sum, err := ParseWatchlist(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		if len(sum) != 32 {
			t.Fatalf("digest of %d bytes", len(sum))
		}
		for _, e := range entries {
			if e.Reason == "" || !(len(e.Value) == 32 || len(e.Value) == 20) {
				t.Fatalf("entry %+v", e)
			}
		}
	})
}

// FuzzSetParam feeds `rules set --set key=value` arbitrary keys and values for every rule:
// a change either validates or is refused, and never panics.
func FuzzSetParam(f *testing.F) {
	for _, kv := range [][2]string{{"share_pct", "90"}, {"window_seconds", "-1"}, {"sessions.SZFE", "09:30-11:30"},
		{"sessions.X", "25:00-26:00"}, {"weekdays", "maybe"}, {"threshold_fen", "99999999999999999999"}, {"", ""}} {
		f.Add(kv[0], kv[1])
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		for _, r := range Rules() {
			p := r.Defaults()
			if err := Set(p, key, value); err != nil {
				continue
			}
			if err := p.Validate(); err != nil {
				t.Fatalf("%s: Set(%q, %q) accepted parameters that do not validate: %v", r.ID, key, value, err)
			}
		}
	})
}
