package compliance

import (
	"testing"
	"time"
)

// TestShanghaiDayNumber checks that the day number changes exactly where marketDay does.
func TestShanghaiDayNumber(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    time.Time
	}{
		{"Shanghai midnight", time.Date(2026, 12, 2, 0, 0, 0, 0, shanghai)},
		{"a second before it", time.Date(2026, 12, 1, 23, 59, 59, 0, shanghai)},
		{"UTC midnight", time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)},
		{"before 1970", time.Date(1969, 12, 31, 7, 59, 59, 0, time.UTC)},
		{"the epoch in Shanghai", time.Date(1970, 1, 1, 0, 0, 0, 0, shanghai)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, d := range []time.Duration{-time.Second, 0, time.Second} {
				a, b := tc.t.Add(d), tc.t
				if (shanghaiDayNumber(a) == shanghaiDayNumber(b)) != (marketDay(a) == marketDay(b)) {
					t.Errorf("%v and %v: day numbers %d and %d, days %s and %s", a, b,
						shanghaiDayNumber(a), shanghaiDayNumber(b), marketDay(a), marketDay(b))
				}
			}
		})
	}
}
