package compliance

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// TestRapidReadings checks RAPID against its definition on windows with several credits:
// a debit trips if some credit's later debits reach share_pct of it and leave at most
// left_pct of it (per receipt), or the window's debits reach share_pct of its credits and
// leave at most left_pct of them (sliding window). Amounts are in fen.
func TestRapidReadings(t *testing.T) {
	start := time.Date(2026, 11, 2, 10, 0, 0, 0, shanghai)
	cases := []struct {
		name    string
		credits []uint64
		debit   uint64
		// reading is the reading that must trip, or "" for none.
		reading string
	}{
		// Issue 18: 100.00 twice, 185.00 on. Each receipt leaves 15.00 > 10.00; the
		// window's 92.5% leaves 7.5% of 200.00.
		{"two credits, window", []uint64{100_00, 100_00}, 185_00, "window"},
		{"two credits, window at share", []uint64{100_00, 100_00}, 180_00, "window"},
		{"two credits, window 1 fen short", []uint64{100_00, 100_00}, 180_00 - 1, ""},
		// The first receipt is reached but leaves too much of it; the second leaves 10%.
		{"later receipt", []uint64{10_00, 100_00}, 100_00, "per_receipt"},
		// A fen less leaves more than 10% of the second receipt, but at most 10% of both.
		{"later receipt 1 fen short", []uint64{10_00, 100_00}, 100_00 - 1, "window"},
		{"both readings at share", []uint64{10_00, 100_00}, 99_00, "window"},
		{"both readings 1 fen short", []uint64{10_00, 100_00}, 99_00 - 1, ""},
		{"first receipt", []uint64{100_00, 1}, 100_00, "per_receipt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder(t, start)
			var res uint64
			a := b.account(ledger.KindIndividual, "")
			to := b.account(ledger.KindIndividual, "")
			for _, c := range tc.credits {
				b.fund(a, c, &res)
			}
			b.block(time.Second, b.sign(&ledger.Transfer{To: addr(to), Asset: ledger.CoinSymbol, Amount: tc.debit}, a))
			payer := addr(a)
			var got []string
			for _, v := range b.violations() {
				if v.RuleID != RuleRapid || v.Subject != addrHex(payer[:]) {
					continue
				}
				var fig struct {
					Reading string `json:"reading"`
				}
				if err := json.Unmarshal(v.Figures, &fig); err != nil {
					t.Fatal(err)
				}
				got = append(got, fig.Reading)
			}
			switch {
			case tc.reading == "" && len(got) > 0:
				t.Errorf("flagged by %v, want nothing", got)
			case tc.reading != "" && (len(got) != 1 || got[0] != tc.reading):
				t.Errorf("flagged by %v, want one %s", got, tc.reading)
			}
		})
	}
}

// TestSummaryUnits checks the wording of amounts and windows in summaries.
func TestSummaryUnits(t *testing.T) {
	e := NewEnv(nil)
	e.decimals["600900"], e.decimals["CU2701"] = 0, 3
	for _, tc := range []struct{ got, want string }{
		{coin(int64(9500)), "95.00 CNYS"},
		{coin(int64(10000)), "100.00 CNYS"},
		{coin(int64(1)), "0.01 CNYS"},
		{durationText(time.Hour), "1 hour"},
		{durationText(5 * 24 * time.Hour), "5 days"},
		{durationText(90 * time.Minute), "90 minutes"},
		{durationText(31*24*time.Hour + time.Second), "31 days 1 second"},
		{durationText(65 * time.Second), "1 minute 5 seconds"},
		{durationText(45 * time.Second), "45 seconds"},
		{durationText(1500 * time.Millisecond), "1 second"},
		{durationText(0), "0 seconds"},
		{durationText(time.Millisecond), "less than a second"},
		{bpText(9000), "90%"},
		{bpText(125), "1.25%"},
		{e.amount(10000, ledger.CoinSymbol), "100.00 CNYS"},
		{e.amount(10000, "600900"), "10000 600900"},
		{e.amount(1500, "CU2701"), "1.500 CU2701"},
		{e.amount(7, "NEW"), "7 NEW (smallest unit)"},
	} {
		if tc.got != tc.want {
			t.Errorf("%q, want %q", tc.got, tc.want)
		}
	}
}
