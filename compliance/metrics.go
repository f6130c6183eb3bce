package compliance

import (
	"maps"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledgerscope/ledgerscope/store"
)

// RunnerMetrics is a Runner's state, for a status page and, through NewCollector, Prometheus.
// The counts are since the runner started.
type RunnerMetrics struct {
	CursorHeight int64 // the last height evaluated (the compliance cursor), as last read or written
	Passes       int64 // passes written
	Blocks       int64 // blocks those passes covered
	// Findings counts, by rule, the violations the passes wrote, new or updated.
	Findings  map[string]int64
	New       int64         // violations written that were new
	LastPass  time.Duration // how long the latest pass took
	Errors    int64         // passes that failed, each retried
	LastError string        // the latest failure
}

// Metrics returns a snapshot of the runner's figures.
func (r *Runner) Metrics() RunnerMetrics {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.m
	m.Findings = maps.Clone(r.m.Findings)
	return m
}

func (r *Runner) recordCursor(h int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m.CursorHeight = h
}

// recordPass counts a written pass and the violations vs it wrote.
func (r *Runner) recordPass(res *PassResult, vs []store.Violation, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m.Findings == nil {
		r.m.Findings = map[string]int64{}
	}
	for _, v := range vs {
		r.m.Findings[v.RuleID]++
	}
	r.m.CursorHeight = res.To
	r.m.Passes++
	r.m.Blocks += res.To - res.From + 1
	r.m.New += int64(res.Inserted)
	r.m.LastPass = took
}

func (r *Runner) recordError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m.Errors++
	r.m.LastError = err.Error()
}

// rulesDesc describes the runner's figure name (after the ledgerscope_rules_ prefix).
func rulesDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("ledgerscope_rules_"+name, help, labels, nil)
}

// Descriptions of the runner's figures in Prometheus.
var (
	rulesCursorDesc   = rulesDesc("cursor_height", "Last height the compliance rules have evaluated (the compliance cursor).")
	rulesPassesDesc   = rulesDesc("passes_total", "Passes of the rules written, each over one or more synced blocks.")
	rulesBlocksDesc   = rulesDesc("blocks_evaluated_total", "Blocks the rules have evaluated.")
	rulesFindingsDesc = rulesDesc("findings_total", "Violations written by the rules, new or updated, by rule.", "rule")
	rulesNewDesc      = rulesDesc("violations_new_total", "Violations the rules have written that were new.")
	rulesLastPassDesc = rulesDesc("last_pass_duration_seconds", "How long the latest pass of the rules took, evaluation and write.")
	rulesErrorsDesc   = rulesDesc("errors_total", "Passes of the rules that failed and were retried.")
)

// runnerCollector reads a runner's Metrics when Prometheus scrapes, so that the figures cost the
// rules nothing between scrapes.
type runnerCollector struct{ r *Runner }

// NewCollector returns a Prometheus collector of r's figures, named ledgerscope_rules_*.
func NewCollector(r *Runner) prometheus.Collector { return runnerCollector{r: r} }

// Describe sends the descriptions of every figure.
func (c runnerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{rulesCursorDesc, rulesPassesDesc, rulesBlocksDesc, rulesFindingsDesc,
		rulesNewDesc, rulesLastPassDesc, rulesErrorsDesc} {
		ch <- d
	}
}

// Collect sends every figure of one snapshot of the runner's Metrics; findings by rule for
// every rule, with 0 for those that have found nothing, so that a rule's series exists
// before its first finding.
func (c runnerCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.r.Metrics()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(rulesCursorDesc, float64(m.CursorHeight))
	counter(rulesPassesDesc, float64(m.Passes))
	counter(rulesBlocksDesc, float64(m.Blocks))
	counter(rulesNewDesc, float64(m.New))
	gauge(rulesLastPassDesc, m.LastPass.Seconds())
	counter(rulesErrorsDesc, float64(m.Errors))
	ids := make([]string, 0, len(Rules()))
	for _, rule := range Rules() {
		ids = append(ids, rule.ID)
	}
	for _, id := range slices.Sorted(maps.Keys(m.Findings)) {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		ch <- prometheus.MustNewConstMetric(rulesFindingsDesc, prometheus.CounterValue, float64(m.Findings[id]), id)
	}
}
