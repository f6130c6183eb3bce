package compliance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/loadgen"
	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

// perTxRules are the rules whose labels name the very transaction to flag; it must appear
// in the evidence of a violation of the rule.
var perTxRules = map[string]bool{
	RuleSelf: true, RuleMatched: true, RuleFrozen: true, RuleRapid: true, RuleStruct: true, RuleSettleFail: true,
	RuleWatch: true, RuleSession: true,
}

// uploadWatchlist uploads the generator's watch list, as the regulator would before the
// traffic is evaluated.
func uploadWatchlist(t testing.TB, db *store.DB, g *loadgen.Generator) {
	t.Helper()
	var buf bytes.Buffer
	if err := g.WriteWatchlist(&buf); err != nil {
		t.Fatal(err)
	}
	if _, n, err := UploadWatchlist(context.Background(), db, &buf, "regulator", "loadgen watch list"); err != nil || n != len(g.Watchlist()) {
		t.Fatalf("watch list upload: %d entries, %v", n, err)
	}
}

func allViolations(t testing.TB, db *store.DB) []store.Violation {
	t.Helper()
	var out []store.Violation
	if err := db.Gorm.Order("id").Find(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

// score compares violations with the ground truth, rule by rule, by subject.
func score(t *testing.T, labels []loadgen.Label, vs []store.Violation) {
	t.Helper()
	want := map[string]map[string]bool{}
	for _, l := range labels {
		if want[l.Scenario] == nil {
			want[l.Scenario] = map[string]bool{}
		}
		want[l.Scenario][strings.ToUpper(l.Subject)] = true
	}
	got := map[string]map[string]bool{}
	txs := map[string]map[string]bool{}
	for _, v := range vs {
		if got[v.RuleID] == nil {
			got[v.RuleID], txs[v.RuleID] = map[string]bool{}, map[string]bool{}
		}
		got[v.RuleID][strings.ToUpper(v.Subject)] = true
		var ev []Evidence
		if err := json.Unmarshal(v.Evidence, &ev); err != nil {
			t.Fatal(err)
		}
		for _, e := range ev {
			txs[v.RuleID][strings.ToUpper(e.Tx)] = true
		}
	}
	rules := map[string]bool{}
	for r := range want {
		rules[r] = true
	}
	for r := range got {
		rules[r] = true
	}
	var ids []string
	for r := range rules {
		ids = append(ids, r)
	}
	sort.Strings(ids)
	var totalWant, totalGot, hit int
	for _, r := range ids {
		var missed, extra []string
		for s := range want[r] {
			if got[r][s] {
				hit++
			} else {
				missed = append(missed, s)
			}
		}
		for s := range got[r] {
			if !want[r][s] {
				extra = append(extra, s)
			}
		}
		totalWant += len(want[r])
		totalGot += len(got[r])
		t.Logf("%-12s labelled %3d flagged %3d missed %d extra %d", r, len(want[r]), len(got[r]), len(missed), len(extra))
		if len(missed) > 0 || len(extra) > 0 {
			t.Errorf("%s: missed %v, flagged unlabelled %v", r, missed, extra)
		}
	}
	for _, l := range labels {
		if perTxRules[l.Scenario] && !txs[l.Scenario][strings.ToUpper(l.Tx)] {
			t.Errorf("%s: labelled tx %s is in no violation's evidence", l.Scenario, l.Tx)
		}
	}
	recall, precision := 1.0, 1.0
	if totalWant > 0 {
		recall = float64(hit) / float64(totalWant)
	}
	if totalGot > 0 {
		precision = float64(hit) / float64(totalGot)
	}
	t.Logf("recall %.3f (%d of %d labelled subjects), precision %.3f (%d flagged)", recall, hit, totalWant, precision, totalGot)
}

// violationDigest is the content of the violations table without ids and wall-clock times.
func violationDigest(t testing.TB, db *store.DB) string {
	t.Helper()
	var sum string
	err := db.Pool.QueryRow(context.Background(), `SELECT md5(coalesce(string_agg(
		concat_ws('|', rule_id, rule_version, subject, window_key, member, asset, height, last_height, summary, figures::text, evidence::text, status),
		E'\n' ORDER BY rule_id, subject, window_key), '')) FROM violations`).Scan(&sum)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// checkCoinBalancesAfter compares the coin balances RAPID folds from the movements of
// heights [from, to] with the balance rows ledgersync wrote.
func checkCoinBalancesAfter(t *testing.T, db *store.DB, from, to int64) {
	t.Helper()
	ctx := context.Background()
	e := NewEnv(db.Pool)
	var r Range
	var err error
	r.From, r.To = from, to
	if r.FromTime, err = e.blockTime(ctx, from); err != nil {
		t.Fatal(err)
	}
	if r.ToTime, err = e.blockTime(ctx, to); err != nil {
		t.Fatal(err)
	}
	moves, err := e.coinMoves(ctx, r.From, r.To, r.FromTime, r.ToTime, nil)
	if err != nil {
		t.Fatal(err)
	}
	accts := touched(moves)
	got, err := e.coinBalancesAfter(ctx, moves, accts, from)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Pool.Query(ctx, `SELECT account, height, amount FROM balance_history WHERE asset = $1 AND height BETWEEN $2 AND $3`,
		ledger.CoinSymbol, from, to)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var a []byte
		var h, amount int64
		if err := rows.Scan(&a, &h, &amount); err != nil {
			t.Fatal(err)
		}
		n++
		if bal, ok := got.at(a, h); !ok || bal != amount {
			t.Errorf("coin balance of %x after %d: folded %d (%v), stored %d", a, h, bal, ok, amount)
		}
	}
	if n == 0 {
		t.Fatal("no coin balance rows to compare")
	}
}

func TestGroundTruthViolations(t *testing.T) {
	clock := loadgen.NewSimClock(loadgen.DefaultStart)
	g, err := loadgen.New(loadgen.Config{ChainID: testChainID, DemoSeed: testDemoSeed, Seed: 2, Violations: 0.004, Clock: clock, Population: 400})
	if err != nil {
		t.Fatal(err)
	}
	c := newChain(t, loadgen.DefaultStart)
	c.drive(g, clock, tradingDay(150)...)
	t.Logf("%d blocks, %d labels, scenarios %v", c.Height(), len(c.labels), g.Started())
	labelled := map[string]bool{}
	for _, l := range c.labels {
		labelled[l.Scenario] = true
	}
	// Every rule loadgen can inject is in the ground truth, so recall is measured for each.
	for _, id := range loadgen.Scenarios() {
		if !labelled[id] {
			t.Errorf("no %s scenario in the ground truth", id)
		}
	}
	if len(c.labels) == 0 {
		t.Fatal("no ground truth")
	}
	db := pgtest.New(t)
	syncAll(t, c, db)
	checkCoinBalancesAfter(t, db, c.Height()/3, c.Height())
	uploadWatchlist(t, db, g)
	runAll(t, db, 200)
	vs := allViolations(t, db)
	score(t, c.labels, vs)
	for _, v := range vs[:min(len(vs), 3)] {
		t.Logf("e.g. %s %s %s: %s %s", v.RuleID, v.Subject, v.WindowKey, v.Summary, v.Figures)
	}

	// Batches of any size, a restart mid-window and a replay give the same table.
	first := violationDigest(t, db)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, "DELETE FROM violations; UPDATE compliance_cursor SET height = 0"); err != nil {
		t.Fatal(err)
	}
	runAll(t, db, 7)
	if d := violationDigest(t, db); d != first {
		t.Errorf("batches of 7 blocks wrote other violations than batches of 200")
	}
	n := len(allViolations(t, db))
	// Replay: move the cursor back over windows still open, and run again.
	if _, err := db.Pool.Exec(ctx, "UPDATE compliance_cursor SET height = height / 2"); err != nil {
		t.Fatal(err)
	}
	runAll(t, db, 13)
	if got := len(allViolations(t, db)); got != n {
		t.Errorf("replay: %d violations, want %d", got, n)
	}
	if d := violationDigest(t, db); d != first {
		t.Errorf("replay changed the violations")
	}

	// Backtests write nothing and report the difference against the live violations.
	live := countRule(t, db, RuleLVInd)
	same, err := Backtest(ctx, db, BacktestRequest{RuleID: RuleLVInd, ChunkBlocks: 40})
	if err != nil {
		t.Fatal(err)
	}
	if len(same.Added) != 0 || len(same.Removed) != 0 || same.Unchanged != live {
		t.Errorf("backtest of the live version: %d added, %d removed, %d unchanged of %d", len(same.Added), len(same.Removed), same.Unchanged, live)
	}
	higher, err := Backtest(ctx, db, BacktestRequest{RuleID: RuleLVInd, Set: map[string]string{"threshold": "100000000000"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(higher.Removed) != live || len(higher.Added) != 0 {
		t.Errorf("backtest with a huge threshold: %d added, %d removed, want all %d removed", len(higher.Added), len(higher.Removed), live)
	}
	lower, err := Backtest(ctx, db, BacktestRequest{RuleID: RuleLVInd, Set: map[string]string{"threshold": "10000000"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("LV-IND backtest at CNY 100,000: %d added, %d removed, %d unchanged", len(lower.Added), len(lower.Removed), lower.Unchanged)
	if len(lower.Added) == 0 {
		t.Errorf("backtest with a lower threshold added nothing")
	}

	// A watch list naming a frozen scenario's account flags its attempts in a backtest.
	var frozen string
	for _, l := range c.labels {
		if l.Scenario == RuleFrozen {
			frozen = l.Subject
			break
		}
	}
	wv, n2, err := UploadWatchlist(ctx, db, strings.NewReader("value,reason\n"+frozen+",test sanctions list\n"), "tester", "boundary test")
	if err != nil || n2 != 1 {
		t.Fatalf("upload: version %d, %d entries, %v", wv, n2, err)
	}
	watch, err := Backtest(ctx, db, BacktestRequest{RuleID: RuleWatch})
	if err != nil {
		t.Fatal(err)
	}
	if len(watch.Added) == 0 {
		t.Errorf("watch list backtest flagged nothing for %s", frozen)
	}
	for _, v := range watch.Added {
		if v.Subject != strings.ToLower(frozen) {
			t.Errorf("watch list flagged %s", v.Subject)
		}
	}
	if d := violationDigest(t, db); d != first {
		t.Errorf("backtests changed the live violations")
	}
	// A parameter change is a new version, recorded with who and why.
	v, sv, err := SetParams(ctx, db, RuleLVInd, map[string]string{"threshold": "60000000"}, nil, "tester", "consultation draft")
	if err != nil || v != 2 || sv < 2 {
		t.Fatalf("set params: version %d, set %d, %v", v, sv, err)
	}
	if _, _, err := SetParams(ctx, db, RuleLVInd, map[string]string{"threshold": "-1"}, nil, "tester", "bad"); err == nil {
		t.Error("a negative threshold was accepted")
	}
}

func TestCleanTrafficHasNoViolation(t *testing.T) {
	clock := loadgen.NewSimClock(loadgen.DefaultStart)
	g, err := loadgen.New(loadgen.Config{ChainID: testChainID, DemoSeed: testDemoSeed, Seed: 1, Clock: clock, Population: 400})
	if err != nil {
		t.Fatal(err)
	}
	c := newChain(t, loadgen.DefaultStart)
	c.drive(g, clock, tradingDay(150)...)
	db := pgtest.New(t)
	syncAll(t, c, db)
	// With the watch list in place: clean traffic touches nothing on it.
	uploadWatchlist(t, db, g)
	runAll(t, db, 50)
	vs := allViolations(t, db)
	byRule := map[string]int{}
	for _, v := range vs {
		byRule[v.RuleID]++
	}
	if len(vs) > 0 {
		for _, v := range vs[:min(len(vs), 10)] {
			t.Logf("%s %s %s: %s", v.RuleID, v.Subject, v.WindowKey, v.Summary)
		}
		t.Errorf("clean traffic: %d violations %v", len(vs), byRule)
	}
	t.Logf("clean traffic: %d blocks, %s", c.Height(), fmt.Sprint(byRule))
}
