package loadgen

import (
	"bufio"
	"bytes"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// tradingDay is the block-time schedule of the traffic tests: a morning session, the
// afternoon after the lunch break, and the next morning, so that hour windows fill, sessions
// close and reopen, and the large-value day rolls over.
func tradingDay(perBlock int) []phase {
	day := DefaultStart
	return []phase{
		{at: day, blocks: 80, perBlock: perBlock, step: 60 * time.Second},
		{at: day.Add(3*time.Hour + 35*time.Minute), blocks: 25, perBlock: perBlock, step: 60 * time.Second, drain: true},
		{at: day.Add(24*time.Hour + time.Minute), blocks: 25, perBlock: perBlock, step: 30 * time.Second, drain: true},
		// The market closes; blocks go on long enough for the last deadlines to pass.
		{blocks: 6, perBlock: 0, step: 2 * time.Minute, drain: true},
	}
}

func TestSameSeedSameBytes(t *testing.T) {
	gen := func(seed uint64) [][]byte {
		clock := NewSimClock(DefaultStart)
		g := testGeneratorOf(t, Config{Seed: seed, Violations: 0.01, Clock: clock, Population: 150})
		var out [][]byte
		for range 15 {
			for _, tx := range g.Next(150) {
				out = append(out, tx.Raw)
			}
			clock.Advance(20 * time.Second)
		}
		return out
	}
	a, b := gen(7), gen(7)
	if len(a) != len(b) {
		t.Fatalf("same seed: %d and %d transactions", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("same seed: transaction %d differs", i)
		}
	}
	c := gen(8)
	same := 0
	for i := range min(len(a), len(c)) {
		if bytes.Equal(a[i], c[i]) {
			same++
		}
	}
	// The setup phase depends on the demo seed only; the traffic after it on the seed.
	if same == min(len(a), len(c)) {
		t.Fatal("seeds 7 and 8 generated the same stream")
	}
}

func TestCleanTraffic(t *testing.T) {
	clock := NewSimClock(DefaultStart)
	g := testGenerator(t, 1, 0, clock)
	c := newChain(t, DefaultStart)
	c.drive(g, clock, tradingDay(150)...)

	ok := c.byCode[ledger.CodeOK]
	t.Logf("%d txs in %d blocks; by code %v; by type %v", c.txs, c.height, c.byCode, c.byType)
	if share := float64(ok) / float64(c.txs); share < 0.99 {
		t.Errorf("clean traffic: %.4f succeeded, want at least 0.99", share)
	}
	if c.unexpected > c.txs/100 {
		t.Errorf("%d transactions did not do what the generator expected", c.unexpected)
	}
	for typ := ledger.TxRegisterAccount; typ <= ledger.TxUnfreeze; typ++ {
		// Clean traffic never fails a settlement: that is the SETTLE-FAIL scenario.
		if typ != ledger.TxFailSettlement && c.byType[typ] == 0 {
			t.Errorf("no successful %s in clean traffic", typ)
		}
	}
	if c.byType[ledger.TxFailSettlement] != 0 {
		t.Errorf("clean traffic failed %d settlements", c.byType[ledger.TxFailSettlement])
	}
	if len(c.labels) != 0 {
		t.Errorf("clean traffic carries %d ground-truth lines", len(c.labels))
	}
	for rule, subjects := range c.oracle.subjects {
		t.Errorf("clean traffic trips %s for %d subjects", rule, len(subjects))
	}
	for _, n := range c.oracle.notes {
		t.Log(n)
	}
}

func TestViolationScenarios(t *testing.T) {
	clock := NewSimClock(DefaultStart)
	g := testGenerator(t, 2, 0.004, clock)
	c := newChain(t, DefaultStart)
	c.drive(g, clock, tradingDay(150)...)
	t.Logf("%d txs in %d blocks; by code %v; scenarios %v", c.txs, c.height, c.byCode, g.Started())

	if c.unexpected > c.txs/100 {
		t.Errorf("%d transactions did not do what the generator expected", c.unexpected)
	}
	for typ := ledger.TxRegisterAccount; typ <= ledger.TxUnfreeze; typ++ {
		if c.byType[typ] == 0 {
			t.Errorf("no successful %s", typ)
		}
	}

	// The ground truth round-trips as JSON lines.
	var buf bytes.Buffer
	if err := WriteLabels(&buf, c.labels); err != nil {
		t.Fatal(err)
	}
	truth := parseTruth(t, &buf)
	if len(truth) != len(c.labels) {
		t.Fatalf("%d truth lines parsed, %d written", len(truth), len(c.labels))
	}

	// Every labelled transaction is in a block with the expected outcome.
	want := map[string]map[string]bool{}
	for _, l := range truth {
		h, err := ledger.ParseHash(l.Tx)
		if err != nil {
			t.Fatalf("truth line %+v: %v", l, err)
		}
		code, found := c.results[h]
		if !found {
			t.Errorf("%s: tx %s is in no block", l.Scenario, l.Tx)
		} else if code != c.expectOf[l.Tx] {
			t.Errorf("%s: tx %s ended %s, want %s", l.Scenario, l.Tx, code, c.expectOf[l.Tx])
		}
		if want[l.Scenario] == nil {
			want[l.Scenario] = map[string]bool{}
		}
		want[l.Scenario][strings.ToUpper(l.Subject)] = true
	}
	for _, id := range Scenarios() {
		if len(want[id]) == 0 {
			t.Errorf("no %s scenario in the ground truth", id)
		}
	}

	// The oracle flags exactly the labelled subjects, rule by rule: recall and precision 1.
	rules := map[string]bool{}
	for r := range want {
		rules[r] = true
	}
	for r := range c.oracle.subjects {
		rules[r] = true
	}
	for _, r := range sortedKeys(rules) {
		got := c.oracle.subjects[r]
		var missed, extra []string
		for s := range want[r] {
			if !got[s] {
				missed = append(missed, s)
			}
		}
		for s := range got {
			if !want[r][s] {
				extra = append(extra, s)
			}
		}
		if len(missed) > 0 || len(extra) > 0 {
			t.Errorf("%s: oracle missed %d of %d labelled subjects %v, flagged %d unlabelled %v",
				r, len(missed), len(want[r]), missed, len(extra), extra)
		}
	}
	// Per-transaction rules: the labelled transactions are the ones the oracle flags.
	for _, l := range truth {
		switch l.Scenario {
		case ScenarioSelf, ScenarioMatched, ScenarioFrozen, ScenarioRapid, ScenarioStruct, ScenarioSettleFail,
			ScenarioWatch, ScenarioSession:
			if !c.oracle.txs[l.Scenario][strings.ToUpper(l.Tx)] {
				t.Errorf("%s: oracle did not flag labelled tx %s", l.Scenario, l.Tx)
			}
		}
	}
	if t.Failed() {
		for _, n := range c.oracle.notes {
			t.Log(n)
		}
	}
}

func parseTruth(t *testing.T, buf *bytes.Buffer) []Label {
	t.Helper()
	var out []Label
	sc := bufio.NewScanner(buf)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var l Label
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("truth line %q: %v", sc.Text(), err)
		}
		if !slices.Contains(Scenarios(), l.Scenario) || l.Subject == "" || l.Detail == "" {
			t.Fatalf("truth line %q is incomplete", sc.Text())
		}
		out = append(out, l)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
