package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ledgerscope/ledgerscope/compliance"
	"github.com/ledgerscope/ledgerscope/ledgersync"
	"github.com/ledgerscope/ledgerscope/ledgersync/memchain"
	"github.com/ledgerscope/ledgerscope/store"
)

// rulesCostGoal is issue 4's bound on what the rules may cost the catch-up, in percent.
const rulesCostGoal = 25

// catchUpTimeout bounds one timed catch-up; the default sizes take well under a minute.
const catchUpTimeout = time.Hour

// catchUpRun is one timed catch-up of the ingest chain into an empty database.
type catchUpRun struct {
	db *store.DB
	// elapsed runs from the worker's start until the sync cursor, and with the rules also the
	// rules' cursor, reached the top; synced until the sync cursor alone did.
	elapsed, synced time.Duration
	sync            ledgersync.Metrics
	rules           bool
	// stalled says why the rules did not reach the top, and rulesAt where they stopped.
	stalled string
	rulesAt int64
}

func (r *catchUpRun) rate(txs int) float64 { return float64(txs) / r.elapsed.Seconds() }

// catchUp times the worker syncing src up to top into the empty database db. With rules, the
// compliance runner runs behind it as in the portal (startSync in cmd/ledgerscope: its
// defaults, batches of up to DefaultMaxBatchBlocks blocks and a poll of DefaultPoll once
// caught up), and the time runs until its cursor reaches top as well.
func catchUp(ctx context.Context, src *memchain.Chain, db *store.DB, g store.Genesis, top int64, rules bool) (*catchUpRun, error) {
	start := time.Now()
	deadline := start.Add(catchUpTimeout)
	w, err := startWorker(ctx, src, db, g)
	if err != nil {
		return nil, err
	}
	stopRules := func() error { return nil }
	trap := &failTrap{}
	if rules {
		if stopRules, err = startRules(ctx, db, trap); err != nil {
			return nil, errors.Join(err, w.stop())
		}
	}
	run := &catchUpRun{db: db, rules: rules}
	err = w.waitSynced(ctx, top, catchUpTimeout, nil)
	run.synced = time.Since(start)
	if err == nil && rules {
		if run.rulesAt, err = waitRules(ctx, db, top, deadline, trap); err != nil && ctx.Err() == nil {
			// Rules that cannot reach the top are a figure of the bench, not its failure:
			// the portal would stall the same way.
			run.stalled, err = err.Error(), nil
		}
	}
	run.elapsed = time.Since(start)
	run.sync = w.w.Metrics()
	// The rules read what the worker wrote: stop them first.
	err = errors.Join(err, stopRules(), w.stop())
	if err != nil {
		return nil, err
	}
	return run, nil
}

// startRules runs a compliance runner on db in the background; the function it returns stops
// it and returns its error.
func startRules(ctx context.Context, db *store.DB, trap *failTrap) (func() error, error) {
	r, err := compliance.NewRunner(compliance.RunnerConfig{DB: db, Logger: slog.New(trap)})
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	return func() error {
		cancel()
		if err := <-done; err != nil {
			return fmt.Errorf("compliance runner: %w", err)
		}
		return nil
	}, nil
}

// rulesPoll is how often the bench reads the rules' cursor once the sync has reached the top:
// short beside the runner's own poll, long enough to cost the database nothing.
const rulesPoll = 10 * time.Millisecond

// waitRules polls the rules' cursor until it reaches h, and returns the height it reached. It
// fails on a failed pass (the runner would retry it for ever), or at the deadline.
func waitRules(ctx context.Context, db *store.DB, h int64, deadline time.Time, trap *failTrap) (int64, error) {
	var at int64
	for {
		if msg := trap.failure(); msg != "" {
			return at, errors.New(msg)
		}
		cc, err := db.GetComplianceCursor(ctx)
		if err != nil {
			return at, fmt.Errorf("rules cursor: %w", err)
		}
		at = cc.Height
		if at >= h {
			return at, nil
		}
		if time.Now().After(deadline) {
			return at, fmt.Errorf("not at the top within %s", catchUpTimeout)
		}
		select {
		case <-ctx.Done():
			return at, ctx.Err()
		case <-time.After(rulesPoll):
		}
	}
}

// rulesRows compares the catch-up with the rules behind it (on) with the same blocks synced
// without them (offs, before and after it; their mean time is the baseline): the throughput
// with the rules, and what they cost against the goal. Rules that stalled reached the top at
// no rate: they cost all of it, and the note says why.
func rulesRows(ctx context.Context, offs []*catchUpRun, on *catchUpRun, txs int, top int64) ([]Row, error) {
	found, err := violationsByRule(ctx, on.db)
	if err != nil {
		return nil, err
	}
	off := &catchUpRun{}
	var each []string
	for _, o := range offs {
		off.elapsed += o.elapsed / time.Duration(len(offs))
		each = append(each, fmt.Sprintf("%.1f s", o.elapsed.Seconds()))
	}
	without := fmt.Sprintf("without the rules %.0f tx/s (%.1f s, the mean of %s)", off.rate(txs), off.elapsed.Seconds(), strings.Join(each, " and "))
	rate := on.rate(txs)
	if on.stalled != "" {
		rate = 0
	}
	cost := 100 * (1 - rate/off.rate(txs))
	if on.stalled != "" {
		return []Row{
			{Name: "catch-up ingest with the rules behind it", Value: 0, Unit: "tx/s",
				Note: fmt.Sprintf("STALLED: the rules' cursor stopped at height %d of %d, %.1f s after the sync reached the top (at %.1f s): %s; by then they had raised %s",
					on.rulesAt, top, (on.elapsed - on.synced).Seconds(), on.synced.Seconds(), on.stalled, found)},
			{Name: "  rules cost (1 − with/without)", Value: cost, Unit: "%", Goal: rulesCostGoal, AtMost: true,
				Note: without + "; with them the rules never reached the top"},
		}, nil
	}
	return []Row{
		{Name: "catch-up ingest with the rules behind it", Value: rate, Unit: "tx/s",
			Note: fmt.Sprintf("the same %d txs in %d blocks into a second empty database, timed until the sync cursor (at %.1f s) and the rules' cursor (%.1f s later) reached the top; the %d rules at their defaults, run as the portal runs them (passes of up to %d blocks, a %s poll when caught up); memchain's mix of coin and stock transfers, DvP, mints and burns, 1 in 50 failing, raised %s",
				txs, top, on.synced.Seconds(), (on.elapsed - on.synced).Seconds(), len(compliance.Rules()),
				compliance.DefaultMaxBatchBlocks, compliance.DefaultPoll, found)},
		{Name: "  rules cost (1 − with/without)", Value: cost, Unit: "%", Goal: rulesCostGoal, AtMost: true,
			Note: fmt.Sprintf("%s, with them %.0f tx/s (%.1f s)", without, rate, on.elapsed.Seconds())},
	}, nil
}

// violationsByRule says how many violations of each rule db holds, as text for a note.
func violationsByRule(ctx context.Context, db *store.DB) (string, error) {
	res, err := db.Pool.Query(ctx, "SELECT rule_id, count(*) FROM violations GROUP BY rule_id ORDER BY rule_id")
	if err != nil {
		return "", fmt.Errorf("count violations: %w", err)
	}
	defer res.Close()
	var parts []string
	var total int64
	for res.Next() {
		var id string
		var n int64
		if err := res.Scan(&id, &n); err != nil {
			return "", fmt.Errorf("count violations: %w", err)
		}
		total += n
		parts = append(parts, fmt.Sprintf("%s %d", id, n))
	}
	if err := res.Err(); err != nil {
		return "", fmt.Errorf("count violations: %w", err)
	}
	if total == 0 {
		return "no violation", nil
	}
	return fmt.Sprintf("%d violations (%s)", total, strings.Join(parts, ", ")), nil
}

// failTrap is a slog handler that keeps the first warning or error logged and drops the rest.
// The rules runner logs a failed pass and retries it with back-off, which would leave the
// bench waiting for its timeout; the trap lets it fail at once with the runner's reason.
type failTrap struct {
	mu    sync.Mutex
	first string
}

var _ slog.Handler = (*failTrap)(nil)

// Enabled implements slog.Handler: warnings and errors only.
func (t *failTrap) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

// Handle implements slog.Handler.
func (t *failTrap) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.first == "" {
		t.first = b.String()
	}
	return nil
}

// WithAttrs implements slog.Handler; the trap keeps messages only.
func (t *failTrap) WithAttrs([]slog.Attr) slog.Handler { return t }

// WithGroup implements slog.Handler.
func (t *failTrap) WithGroup(string) slog.Handler { return t }

// failure is the first warning or error logged, or "".
func (t *failTrap) failure() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.first
}
