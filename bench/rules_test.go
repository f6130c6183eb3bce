package bench

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

// TestRulesRows checks the cost figure and its verdict against the ≤ 25% goal: met, missed, and
// rules that stalled, which cost everything and say why; the baseline is the mean of the syncs
// without the rules.
func TestRulesRows(t *testing.T) {
	db := pgtest.New(t)
	offs := []*catchUpRun{{db: db, elapsed: 800 * time.Millisecond, synced: 800 * time.Millisecond}, {db: db, elapsed: 1200 * time.Millisecond, synced: 1200 * time.Millisecond}}
	tests := []struct {
		name     string
		on       catchUpRun
		cost     float64
		verdict  string
		noteHas  string
		rateZero bool
	}{
		{"within the goal", catchUpRun{elapsed: 1250 * time.Millisecond, synced: time.Second}, 20, "met", "no violation", false},
		{"over the goal", catchUpRun{elapsed: 2 * time.Second, synced: time.Second}, 50, "MISSED", "no violation", false},
		{"stalled", catchUpRun{elapsed: 3 * time.Second, synced: time.Second, stalled: "more than 100000 findings", rulesAt: 7}, 100, "MISSED", "STALLED: the rules' cursor stopped at height 7 of 10", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			on := tt.on
			on.db, on.rules = db, true
			rows, err := rulesRows(context.Background(), offs, &on, 1000, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 {
				t.Fatalf("%d rows, want 2", len(rows))
			}
			rate, cost := rows[0], rows[1]
			if math.Abs(cost.Value-tt.cost) > 1e-9 || cost.verdict() != tt.verdict {
				t.Errorf("cost %v %s, want %v %s", cost.Value, cost.verdict(), tt.cost, tt.verdict)
			}
			if (rate.Value == 0) != tt.rateZero {
				t.Errorf("rate %v", rate.Value)
			}
			if !strings.Contains(rate.Note, tt.noteHas) {
				t.Errorf("note %q lacks %q", rate.Note, tt.noteHas)
			}
			if want := "without the rules 1000 tx/s (1.0 s, the mean of 0.8 s and 1.2 s)"; !strings.Contains(cost.Note, want) {
				t.Errorf("cost note %q lacks %q", cost.Note, want)
			}
		})
	}
}
