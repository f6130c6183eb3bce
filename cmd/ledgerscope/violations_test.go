package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

// sampleViolations are three violations as the rules write them, with long subjects, long
// summaries and evidence naming addresses, transactions and accounts with their figures.
func sampleViolations(t *testing.T) []store.Violation {
	t.Helper()
	at := time.Date(2026, 12, 7, 22, 27, 44, 0, time.UTC)
	payer, payee := strings.Repeat("24597294", 5), strings.Repeat("347cdac0", 5)
	ev, err := json.Marshal([]map[string]any{
		{"tx": strings.Repeat("32B15806", 8), "height": 35, "time": at, "note": payer + " paid 483645.00 CNYS to " + payee,
			"accounts": []map[string]any{
				{"address": payer, "member": "GTJA", "role": "from", "asset": "CNYS", "amount": 48364500},
				{"address": payee, "member": "HTSC", "role": "to"},
			}},
		{"height": 35, "time": at, "note": "end of block"},
	})
	if err != nil {
		t.Fatal(err)
	}
	lv, err := json.Marshal([]map[string]any{
		{"tx": strings.Repeat("5EA2A0CF", 8), "height": 36, "time": at, "note": "paid 1225.00 CNYS in a transfer",
			"accounts": []map[string]any{
				{"address": payer, "member": "GTJA", "role": "from", "asset": "CNYS", "amount": 122500, "before": 49900000, "after": 50022500},
			}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return []store.Violation{
		{ID: 18, RuleID: "STRUCT", RuleVersion: 1, Severity: "high", Height: 35, BlockTime: at, Member: "GTJA", Status: "open",
			Subject: strings.Repeat("CD8D13FF", 8), Asset: "CNYS",
			Summary: "owner made 4 transfers each in [90%, 100%) of 500000.00 CNYS within 5 days, together 1922035.00 CNYS, " +
				"which is a long summary that has to wrap at the width of a terminal to stay readable",
			Figures: json.RawMessage(`{"sum": 192203500, "count": 4, "threshold": 50000000, "ratio_bp": 9000, "window_seconds": 432000}`), Evidence: ev},
		{ID: 19, RuleID: "LV-IND", RuleVersion: 1, Severity: "medium", Height: 36, BlockTime: at, Member: "GTJA", Status: "open",
			Subject: payer, Asset: "CNYS", Summary: "individual account moved 500225.00 CNYS on 2026-12-08",
			Figures: json.RawMessage(`{"day": "2026-12-08", "sum": 50022500, "movements": 7, "threshold": 50000000}`), Evidence: lv},
		{ID: 20, RuleID: "SESSION", RuleVersion: 1, Severity: "low", Height: 36, BlockTime: at, Member: "CQCE", Status: "open",
			Subject: "CQCE", Summary: "DvP in 000625 at CQCE Tue 06:27 CST, outside the venue's session", Asset: "000625",
			Figures: json.RawMessage(`{"venue": "CQCE", "local_time": "2026-12-08 06:27:44"}`), Evidence: json.RawMessage(`[]`)},
	}
}

func TestPrintViolationList(t *testing.T) {
	vs := sampleViolations(t)
	var gtja ledger.Address
	copy(gtja[:], bytes.Repeat([]byte{0x24, 0x59, 0x72, 0x94}, 5))
	named := &display{decimals: map[string]uint8{"CNYS": 2, fiatSymbol: 2}, names: map[ledger.Address]string{gtja: "gtja"}}
	tests := []struct {
		name     string
		opt      violationListOptions
		maxWidth int
		want     []string
		unwanted []string
	}{
		{"narrow", violationListOptions{}, listWidth,
			[]string{"2026-12-08 06:27:44 CST", "CD8D13FF…", "\n    owner made 4 transfers"},
			[]string{strings.Repeat("CD8D13FF", 8), "Z ", "evidence", "figures"}},
		{"evidence", violationListOptions{evidence: true}, listWidth,
			[]string{"figures: count=4 ratio_bp=90.00% sum=1922035.00 CNYS threshold=500000.00 CNYS window_seconds=5 days",
				"figures: day=2026-12-08 movements=7 sum=500225.00 CNYS threshold=500000.00 CNYS",
				"figures: local_time=2026-12-08 06:27:44 CST venue=CQCE",
				"evidence 35 2026-12-08 06:27:44 CST tx 32B15806… 24597294… paid 483645.00 CNYS to 347cdac0…",
				"\n      from 24597294… of GTJA: 483645.00 CNYS\n      to 347cdac0… of HTSC\n",
				"\n      from 24597294… of GTJA: 1225.00 CNYS, 499000.00 → 500225.00 CNYS\n",
				"evidence 35 2026-12-08 06:27:44 CST end of block"},
			[]string{strings.Repeat("24597294", 5), "192203500", "432000"}},
		{"raw", violationListOptions{evidence: true, raw: true}, listWidth,
			[]string{"figures: count=4 ratio_bp=9000 sum=192203500 threshold=50000000 window_seconds=432000",
				"\n      from 24597294… of GTJA amount=48364500 asset=CNYS\n",
				"\n      from 24597294… of GTJA amount=122500 before=49900000 after=50022500 asset=CNYS\n",
				"local_time=2026-12-08 06:27:44 venue=CQCE"},
			[]string{"sum=1922035.00", "→", "CST venue"}},
		{"named", violationListOptions{evidence: true, show: named}, listWidth,
			[]string{"\n      from gtja (24597294…) of GTJA: 483645.00 CNYS\n"},
			nil},
		{"wide", violationListOptions{evidence: true, wide: true}, 0,
			[]string{strings.Repeat("CD8D13FF", 8), "tx " + strings.Repeat("32B15806", 8), strings.Repeat("347cdac0", 5),
				"together 1922035.00 CNYS, which is a long summary that has to wrap at the width of a terminal to stay readable\n",
				"      to " + strings.Repeat("347cdac0", 5) + " of HTSC\n"},
			[]string{"…"}},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := printViolationList(&out, vs, tt.opt); err != nil {
			t.Fatal(err)
		}
		s := out.String()
		for _, line := range strings.Split(s, "\n") {
			if n := utf8.RuneCountInString(line); tt.maxWidth > 0 && n > tt.maxWidth {
				t.Errorf("%s: a line of %d columns:\n%s", tt.name, n, line)
			}
		}
		for _, w := range tt.want {
			if !strings.Contains(s, w) {
				t.Errorf("%s: lacks %q:\n%s", tt.name, w, s)
			}
		}
		for _, u := range tt.unwanted {
			if strings.Contains(s, u) {
				t.Errorf("%s: has %q:\n%s", tt.name, u, s)
			}
		}
	}
}

// TestViolationFigureText checks each kind of figure the rules write as a reviewer reads it.
func TestViolationFigureText(t *testing.T) {
	d := &display{decimals: map[string]uint8{"CNYS": 2, fiatSymbol: 2, "600036": 0, "CU2701": 3}, names: map[ledger.Address]string{}}
	for _, tc := range []struct {
		figures, asset, want string
	}{
		{`{"minted": 100001, "supply": 100001, "reserve": 100000, "reserve_raised": true}`, "CNYS",
			"minted=1000.01 CNYS reserve=1000.00 CNYS reserve_raised=true supply=1000.01 CNYS"},
		{`{"asset": "600036", "holding": 50000, "supply": 1000000, "share_bp": 500}`, "600036",
			"asset=600036 holding=50000 600036 share_bp=5.00% supply=1000000 600036"},
		{`{"limit": 500, "holding": 501500}`, "CU2701", "holding=501.500 CU2701 limit=0.500 CU2701"},
		{`{"qty": [10000, 9900], "cash": [100000, 99000], "tolerance_bp": 100, "window_seconds": 5}`, "600036",
			"cash=[1000.00 CNYS, 990.00 CNYS] qty=[10000 600036, 9900 600036] tolerance_bp=1.00% window_seconds=5 seconds"},
		{`{"fiat": 100000, "quantity": 100, "deadline": "2026-11-02T02:01:03Z", "state": "failed"}`, "600036",
			"deadline=2026-11-02 10:01:03 CST fiat=1000.00 CNY quantity=100 600036 state=failed"},
		{`{"received": 100000, "sent_after": 90000, "share_pct": 90, "left_pct": 10, "balance_left": 10000}`, "CNYS",
			"balance_left=100.00 CNYS left_pct=10% received=1000.00 CNYS sent_after=900.00 CNYS share_pct=90%"},
		{`{"age_seconds": 2678401, "max_age_seconds": 2678400, "code": 12}`, "CNYS",
			"age_seconds=31 days 1 second code=12 max_age_seconds=31 days"},
	} {
		if got := figuresText(json.RawMessage(tc.figures), tc.asset, d); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.figures, got, tc.want)
		}
	}
}

// TestViolationsListRefusesUnknownIDs: a rule or member that does not exist is an error, not
// an empty table; known ones list.
func TestViolationsListRefusesUnknownIDs(t *testing.T) {
	url := pgtest.MigratedURL(t)
	t.Setenv("DATABASE_URL", url)
	ctx := context.Background()
	run := func(args ...string) (string, error) {
		return runCLI(ctx, append([]string{"violations", "list"}, args...)...)
	}
	if _, err := run("--member", "GTJA"); err == nil || !strings.Contains(err.Error(), "--member GTJA: no members synced yet") {
		t.Errorf("no members: %v", err)
	}
	db, err := store.Open(ctx, store.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Pool.Exec(ctx, `INSERT INTO members (id, name, roles, operator, height) VALUES
		('GTJA', 'Guotai Junan', '{broker}', decode(repeat('7d', 20), 'hex'), 0),
		('HTSC', 'Huatai', '{broker}', decode(repeat('ba', 20), 'hex'), 0)`); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--rule", "NOPE"}, "--rule NOPE: no such rule (rules: "},
		{[]string{"--rule", "lv-ind"}, "--rule lv-ind: no such rule"},
		{[]string{"--member", "XXXX"}, "--member XXXX: no such member (members: GTJA, HTSC)"},
		{[]string{"--rule", "LV-IND"}, ""},
		{[]string{"--member", "GTJA", "--rule", "STRUCT", "--evidence"}, ""},
		{[]string{"--evidence", "--raw", "--home", t.TempDir()}, ""},
	}
	for _, tt := range tests {
		out, err := run(tt.args...)
		if tt.wantErr == "" {
			if err != nil || !strings.HasPrefix(out, "id  rule") {
				t.Errorf("%v: %v\n%s", tt.args, err, out)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%v: %v, want %q", tt.args, err, tt.wantErr)
		}
	}
}
