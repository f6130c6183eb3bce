package compliance

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/store"
)

// TestFindingsReadable runs every rule's boundary case at its threshold and checks what a
// reviewer reads of each finding: the summary and every note give amounts in units with
// their symbol, durations in words and times with their zone; every piece of evidence with
// a transaction names an account with its member, and every account named has one.
func TestFindingsReadable(t *testing.T) {
	for _, tc := range boundaryCases() {
		t.Run(tc.name(true), func(t *testing.T) {
			b := newBuilder(t, boundaryStart)
			tc.build(b, true)
			db, vs := b.run()
			symbols := assetSymbols(t, db)
			var found int
			for _, v := range vs {
				if v.RuleID != tc.rule || (tc.subject != "" && v.Subject != tc.subject) {
					continue
				}
				found++
				var ev []Evidence
				if err := json.Unmarshal(v.Evidence, &ev); err != nil {
					t.Fatalf("evidence of %s: %v", v.RuleID, err)
				}
				for _, p := range unreadable(v.Summary, symbols) {
					t.Errorf("summary %q: %s", v.Summary, p)
				}
				for _, e := range ev {
					for _, p := range unreadable(e.Note, symbols) {
						t.Errorf("evidence note %q: %s", e.Note, p)
					}
					for _, p := range evidenceProblems(e) {
						t.Errorf("evidence %q: %s", e.Note, p)
					}
				}
			}
			if found == 0 {
				t.Fatalf("no %s violation at the threshold", tc.rule)
			}
		})
	}
}

// assetSymbols are the symbols of the synced assets, and the fiat currency's.
func assetSymbols(t *testing.T, db *store.DB) []string {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), "SELECT symbol FROM assets ORDER BY symbol")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := []string{fiatSymbol}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// What a reviewer may read beside amounts in units: addresses and hashes, dates and times,
// block heights, durations in words and percentages. Numbers left once they are taken out
// are amounts without their unit.
var (
	hexRE      = regexp.MustCompile(`\b[0-9A-Fa-f]{40,}\b`)
	dateTimeRE = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?`)
	heightRE   = regexp.MustCompile(`\b(block|height) \d+\b`)
	durationRE = regexp.MustCompile(`\b\d+ (day|hour|minute|second)s?\b`)
	percentRE  = regexp.MustCompile(`\b\d+(\.\d+)?%`)
	bareRE     = regexp.MustCompile(`\b\d{4,}\b|\b\d+\.\d+\b`)
	goDuraRE   = regexp.MustCompile(`\b\d+(\.\d+)?(h|m|s|ms|µs|ns)(\d+(\.\d+)?(h|m|s|ms|µs|ns))*\b`)
	clockRE    = regexp.MustCompile(`\b\d{2}:\d{2}\b`)
	zoneRE     = regexp.MustCompile(`\b(CST|UTC)\b`)
	fenRE      = regexp.MustCompile(`(?i)\bfen\b`)
	unitsCache = map[string]*regexp.Regexp{}
)

// unitsRE matches an amount followed by one of symbols, or a symbol on its own.
func unitsRE(symbols []string) *regexp.Regexp {
	k := strings.Join(symbols, "|")
	if re, ok := unitsCache[k]; ok {
		return re
	}
	quoted := make([]string, len(symbols))
	for i, s := range symbols {
		quoted[i] = regexp.QuoteMeta(s)
	}
	alt := strings.Join(quoted, "|")
	re := regexp.MustCompile(`(-?\b\d+(\.\d+)? )?\b(` + alt + `)\b`)
	unitsCache[k] = re
	return re
}

// unreadable lists what in text a reviewer should not have to decode: an amount as a bare
// integer or without its symbol, "fen", a Go duration, a time without its zone.
func unreadable(text string, symbols []string) []string {
	var out []string
	if fenRE.MatchString(text) {
		out = append(out, `says "fen"`)
	}
	if m := goDuraRE.FindString(text); m != "" || strings.Contains(text, "h0m") {
		out = append(out, "a Go duration "+m)
	}
	if clockRE.MatchString(text) && !zoneRE.MatchString(text) {
		out = append(out, "a time without its zone")
	}
	rest := hexRE.ReplaceAllString(text, "")
	rest = dateTimeRE.ReplaceAllString(rest, "")
	rest = unitsRE(symbols).ReplaceAllString(rest, "")
	rest = heightRE.ReplaceAllString(rest, "")
	rest = durationRE.ReplaceAllString(rest, "")
	rest = percentRE.ReplaceAllString(rest, "")
	for _, m := range bareRE.FindAllString(rest, -1) {
		out = append(out, "a number without its unit: "+m)
	}
	return out
}

// evidenceProblems lists what a reviewer could not follow in one piece of evidence.
func evidenceProblems(e Evidence) []string {
	var out []string
	if e.Tx != "" && !slices.ContainsFunc(e.Accounts, func(a EvidenceAccount) bool { return a.Member != "" }) {
		out = append(out, "its transaction names no account with a member")
	}
	for _, a := range e.Accounts {
		if a.Member == "" {
			out = append(out, "account "+a.Address+" has no member")
		}
		if a.Role == "" {
			out = append(out, "account "+a.Address+" has no role")
		}
		if !hexRE.MatchString(a.Address) {
			out = append(out, "account "+a.Address+" is not an address")
		}
		if (a.Amount != nil || a.Before != nil) && a.Asset == "" {
			out = append(out, "account "+a.Address+" has figures without their asset")
		}
	}
	return out
}

// TestUnreadable checks the reviewer's reading of a text against hand-made cases.
func TestUnreadable(t *testing.T) {
	symbols := []string{ledger.CoinSymbol, fiatSymbol, "600900"}
	for _, tc := range []struct {
		text string
		bad  bool
	}{
		{"owner made 3 transfers each in [90%, 100%) of 500000.00 CNYS within 5 days, together 1350000.00 CNYS", false},
		{"sum=200000000", true},
		{"paid 200000000 fen", true},
		{"within 120h0m0s", true},
		{"two trades 0s apart", true},
		{"two trades in 600900 1 second apart, of 10000 600900 and 9900 600900", false},
		{"DvP at SZFE Mon 15:00 CST, outside the session hours (09:30-11:30, 13:00-15:00 CST)", false},
		{"DvP at SZFE Mon 15:00", true},
		{"last reserve attestation (block 1234) is older than 31 days", false},
		{"paid 12.25 to someone", true},
		{"locked 100 600900 by 2026-11-02 11:00:00 CST", false},
		{"tx 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF", false},
	} {
		if got := unreadable(tc.text, symbols); (len(got) > 0) != tc.bad {
			t.Errorf("%q: %v, want unreadable %v", tc.text, got, tc.bad)
		}
	}
}

// TestEvidenceMemberScope has an owner's accounts at HTSC trade and pay with clients of
// GTJA: the evidence names the clients with their member, and the violations belong to
// HTSC only. A counterparty's member is not shown a finding about another member's client.
func TestEvidenceMemberScope(t *testing.T) {
	b := newBuilder(t, boundaryStart)
	var res uint64
	// STRUCT: three payments just below the threshold to clients of GTJA.
	payer := b.accountAt("HTSC", ledger.KindIndividual, "scope")
	b.fund(payer, 4*defaultLVIndividual, &res)
	for range 3 {
		to := b.accountAt("GTJA", ledger.KindIndividual, "")
		b.block(time.Minute, b.sign(&ledger.Transfer{To: addr(to), Asset: ledger.CoinSymbol, Amount: defaultLVIndividual * 95 / 100}, payer))
	}
	// MATCHED: the owner's two accounts buy from and sell to clients of GTJA.
	seller := b.accountAt("GTJA", ledger.KindIndividual, "")
	m1 := b.accountAt("HTSC", ledger.KindIndividual, "matched")
	m2 := b.accountAt("HTSC", ledger.KindIndividual, "matched")
	buyer := b.accountAt("GTJA", ledger.KindIndividual, "")
	b.fund(m1, 200_000, &res)
	b.fund(buyer, 200_000, &res)
	b.issue("600908", "SZFE", seller, 20_000)
	b.block(time.Second, b.sign(&ledger.Transfer{To: addr(m2), Asset: "600908", Amount: 10_000}, seller))
	b.block(time.Second, b.sign(&ledger.SettleDvP{Venue: "SZFE", Seller: addr(seller), Buyer: addr(m1), Asset: "600908", Quantity: 10_000, Cash: 100_000, TradeRef: "S1"}, memberKey("SZFE")))
	b.block(time.Second, b.sign(&ledger.SettleDvP{Venue: "SZFE", Seller: addr(m2), Buyer: addr(buyer), Asset: "600908", Quantity: 10_000, Cash: 100_000, TradeRef: "S2"}, memberKey("SZFE")))
	_, vs := b.run()
	seen := map[string]bool{}
	for _, v := range vs {
		if v.RuleID != RuleStruct && v.RuleID != RuleMatched {
			continue
		}
		seen[v.RuleID] = true
		if v.Member != "HTSC" || !slices.Equal([]string(v.Members), []string{"HTSC"}) {
			t.Errorf("%s: member %s, members %v, want HTSC only", v.RuleID, v.Member, v.Members)
		}
		var ev []Evidence
		if err := json.Unmarshal(v.Evidence, &ev); err != nil {
			t.Fatal(err)
		}
		members := map[string]bool{}
		for _, e := range ev {
			for _, a := range e.Accounts {
				members[a.Member] = true
			}
		}
		if !members["HTSC"] || !members["GTJA"] {
			t.Errorf("%s: evidence names accounts of %v, want HTSC's and GTJA's", v.RuleID, members)
		}
	}
	if !seen[RuleStruct] || !seen[RuleMatched] {
		t.Fatalf("violations of %v, want STRUCT and MATCHED", seen)
	}
}
