package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

// sampleViolations are two violations as the rules write them, with long subjects, long
// summaries and evidence naming addresses and transactions.
func sampleViolations(t *testing.T) []store.Violation {
	t.Helper()
	at := time.Date(2026, 12, 7, 22, 27, 44, 0, time.UTC)
	ev, err := json.Marshal([]map[string]any{
		{"tx": strings.Repeat("32B15806", 8), "height": 35, "time": at, "note": strings.Repeat("24597294", 5) + " paid 483645.00 CNYS to " + strings.Repeat("347cdac0", 5)},
		{"height": 35, "time": at, "note": "end of block"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return []store.Violation{
		{ID: 18, RuleID: "STRUCT", RuleVersion: 1, Severity: "high", Height: 35, BlockTime: at, Member: "GTJA", Status: "open",
			Subject: strings.Repeat("CD8D13FF", 8),
			Summary: "owner made 4 transfers each in [90%, 100%) of 500000.00 CNYS within 120h0m0s, together 1922035.00 CNYS, " +
				"which is a long summary that has to wrap at the width of a terminal to stay readable",
			Figures: json.RawMessage(`{"sum": 192203500, "count": 4, "threshold": 50000000, "window_seconds": 432000}`), Evidence: ev},
		{ID: 20, RuleID: "SESSION", RuleVersion: 1, Severity: "low", Height: 36, BlockTime: at, Member: "CQCE", Status: "open",
			Subject: "CQCE", Summary: "DvP in 000625 at CQCE Tue 06:27, outside the venue's session",
			Figures: json.RawMessage(`{"venue": "CQCE"}`), Evidence: json.RawMessage(`[]`)},
	}
}

func TestPrintViolationList(t *testing.T) {
	vs := sampleViolations(t)
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
			[]string{"figures: count=4 sum=192203500 threshold=50000000 window_seconds=432000",
				"evidence 35 2026-12-08 06:27:44 CST tx 32B15806… 24597294… paid 483645.00 CNYS to 347cdac0…",
				"evidence 35 2026-12-08 06:27:44 CST end of block"},
			[]string{strings.Repeat("24597294", 5)}},
		{"wide", violationListOptions{evidence: true, wide: true}, 0,
			[]string{strings.Repeat("CD8D13FF", 8), "tx " + strings.Repeat("32B15806", 8), strings.Repeat("347cdac0", 5),
				"together 1922035.00 CNYS, which is a long summary that has to wrap at the width of a terminal to stay readable\n"},
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
