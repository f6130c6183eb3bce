package loadgen

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// TestWatchlistReadMerge reads back what WriteWatchlist wrote and merges the lists of two
// seeds: the second run's entries follow the first's, and merging a list into itself, in any
// case, adds nothing.
func TestWatchlistReadMerge(t *testing.T) {
	g1 := testGenerator(t, 1, 0.1, NewSimClock(DefaultStart))
	g2 := testGenerator(t, 2, 0.1, NewSimClock(DefaultStart))
	var buf bytes.Buffer
	if err := g1.WriteWatchlist(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := ReadWatchEntries(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, g1.Watchlist()) {
		t.Fatalf("read back %d entries, not the %d written", len(got), len(g1.Watchlist()))
	}
	upper := slices.Clone(got)
	for i := range upper {
		upper[i].Value = strings.ToUpper(upper[i].Value)
	}
	both := MergeWatchlists(got, upper, g2.Watchlist(), g1.Watchlist())
	if want := append(g1.Watchlist(), g2.Watchlist()...); !slices.Equal(both, want) {
		t.Errorf("merged %d entries, want seed 1's %d then seed 2's", len(both), len(want))
	}
	if _, err := ReadWatchEntries(strings.NewReader("value,reason\nabc\n")); err == nil {
		t.Error("a line without a reason was read")
	}
}
