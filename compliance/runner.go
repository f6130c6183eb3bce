package compliance

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/ledgerscope/ledgerscope/store"
)

// Defaults of RunnerConfig.
const (
	DefaultMaxBatchBlocks = 200
	DefaultPoll           = 500 * time.Millisecond
	DefaultRetryMax       = 10 * time.Second
	// MaxFindingsPerPass bounds the findings one pass over several blocks holds: a pass that
	// finds more is split, down to a single block.
	MaxFindingsPerPass = 100_000
	// MaxFindingsPerBlock bounds the findings of one block. A block's findings are bounded by
	// its rows (a rule finds at most a few per transfer leg or transaction), so a single block
	// is written whatever it finds below this; more means a rule is misconfigured beyond
	// anything a block could hold, and the pass fails loudly instead.
	MaxFindingsPerBlock = 1_000_000
	// violationsPerWrite bounds the violations one upsert sends.
	violationsPerWrite = 20_000
)

// errTooMany is a pass that found more than its bound: the runner splits its range.
var errTooMany = errors.New("too many findings")

// SystemUser is who seeds the default rule versions.
const SystemUser = "system"

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	// DB is the migrated database that ledgersync writes.
	DB *store.DB
	// MaxBatchBlocks bounds the blocks one pass evaluates (and one transaction covers).
	MaxBatchBlocks int64
	// Poll is how often the sync cursor is read when the rules have caught up.
	Poll time.Duration
	// MaxFindings bounds the findings of a pass over several blocks; 0 is
	// MaxFindingsPerPass.
	MaxFindings int
	// Logger receives progress and errors; nil discards.
	Logger *slog.Logger
}

// Runner evaluates the enabled rules over each block that ledgersync has written, right
// behind its cursor, and writes the violations and its own cursor in one transaction.
type Runner struct {
	cfg RunnerConfig
	log *slog.Logger
	// span is how many blocks the next pass covers: MaxBatchBlocks, or less after a pass
	// found too much, growing back by doubling; it only saves re-evaluating split passes.
	span atomic.Int64

	mu sync.Mutex
	// cost is how long each rule group (by its first rule) took in the last pass.
	cost map[string]time.Duration
	// m is the runner's figures (metrics.go).
	m RunnerMetrics
}

// costs returns a copy of the groups' last costs.
func (r *Runner) costs() map[string]time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.cost)
}

// noteCosts records how long each group took.
func (r *Runner) noteCosts(groups [][]ActiveRule, took []time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cost == nil {
		r.cost = map[string]time.Duration{}
	}
	for i, g := range groups {
		r.cost[g[0].Rule.ID] = took[i]
	}
}

// NewRunner returns a runner; it touches nothing until Step or Run.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if cfg.DB == nil {
		return nil, errors.New("compliance: database is required")
	}
	if cfg.MaxBatchBlocks <= 0 {
		cfg.MaxBatchBlocks = DefaultMaxBatchBlocks
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.MaxFindings <= 0 {
		cfg.MaxFindings = MaxFindingsPerPass
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Runner{cfg: cfg, log: cfg.Logger}
	r.span.Store(cfg.MaxBatchBlocks)
	return r, nil
}

// ActiveRule is a rule at the version in force, with its decoded parameters.
type ActiveRule struct {
	Rule    *Rule
	Version int32
	Enabled bool
	Params  Params
	// Raw is the stored parameter JSON.
	Raw json.RawMessage
}

// ActiveSet is the rule set in force.
type ActiveSet struct {
	Version int32
	Rules   []ActiveRule
}

// defaultVersions are every rule's defaults, enabled, as first versions.
func defaultVersions() ([]store.RuleVersion, error) {
	var out []store.RuleVersion
	for _, r := range Rules() {
		raw, err := json.Marshal(r.Defaults())
		if err != nil {
			return nil, fmt.Errorf("defaults of %s: %w", r.ID, err)
		}
		out = append(out, store.RuleVersion{RuleID: r.ID, Enabled: true, Params: raw})
	}
	return out, nil
}

// LoadActive returns the rule set in force, first recording version 1 (the defaults) of any
// rule that has no version yet.
func LoadActive(ctx context.Context, db *store.DB) (*ActiveSet, error) {
	rvs, err := db.LatestRuleVersions(ctx)
	if err != nil {
		return nil, err
	}
	var setVersion int32
	if len(rvs) < len(Rules()) {
		// Seeding takes a table lock: only when a rule has no version yet.
		defs, err := defaultVersions()
		if err != nil {
			return nil, err
		}
		if _, err := db.SaveRuleVersions(ctx, defs, SystemUser, "defaults of rules without a version", true); err != nil {
			return nil, err
		}
		if rvs, err = db.LatestRuleVersions(ctx); err != nil {
			return nil, err
		}
	}
	rs, err := db.LatestRuleSet(ctx)
	if err != nil {
		return nil, err
	}
	setVersion = rs.Version
	byID := map[string]store.RuleVersion{}
	for _, rv := range rvs {
		byID[rv.RuleID] = rv
	}
	set := &ActiveSet{Version: setVersion}
	for _, r := range Rules() {
		rv, ok := byID[r.ID]
		if !ok {
			return nil, fmt.Errorf("rule %s has no version", r.ID)
		}
		p, err := r.Decode(rv.Params)
		if err != nil {
			return nil, err
		}
		set.Rules = append(set.Rules, ActiveRule{Rule: r, Version: rv.Version, Enabled: rv.Enabled, Params: p, Raw: rv.Params})
	}
	return set, nil
}

// SetParams records a new version of a rule with changed parameters (key=value, see Set)
// and, when enabled is not nil, a changed enabled flag; who and why are required. It returns
// the new rule version and rule set version.
func SetParams(ctx context.Context, db *store.DB, ruleID string, kv map[string]string, enabled *bool, by, reason string) (int32, int32, error) {
	r, err := RuleByID(ruleID)
	if err != nil {
		return 0, 0, err
	}
	if _, err := LoadActive(ctx, db); err != nil {
		return 0, 0, err
	}
	cur, err := db.RuleVersionAt(ctx, ruleID, 0)
	if err != nil {
		return 0, 0, err
	}
	p, err := r.Decode(cur.Params)
	if err != nil {
		return 0, 0, err
	}
	for _, k := range sortedStrings(kv) {
		if err := Set(p, k, kv[k]); err != nil {
			return 0, 0, fmt.Errorf("%s: %w", ruleID, err)
		}
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return 0, 0, fmt.Errorf("%s parameters: %w", ruleID, err)
	}
	en := cur.Enabled
	if enabled != nil {
		en = *enabled
	}
	setVersion, err := db.SaveRuleVersions(ctx, []store.RuleVersion{{RuleID: ruleID, Enabled: en, Params: raw}}, by, reason, false)
	if err != nil {
		return 0, 0, err
	}
	return cur.Version + 1, setVersion, nil
}

// Run evaluates blocks as ledgersync writes them until ctx ends (returning nil). Errors are
// logged and retried with back-off from the stored cursor.
func (r *Runner) Run(ctx context.Context) error {
	backoff := r.cfg.Poll
	for {
		n, err := r.Step(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := r.cfg.Poll
		switch {
		case err != nil:
			r.recordError(err)
			r.log.Warn("compliance pass failed; retrying", "err", err, "retry_in", backoff)
			wait = backoff
			backoff = min(2*backoff, DefaultRetryMax)
		case n > 0:
			backoff = r.cfg.Poll
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// PassResult is what one pass did.
type PassResult struct {
	From, To   int64
	Findings   int
	Inserted   int
	SetVersion int32
}

// Step evaluates the next batch of synced blocks, if any, and returns how many blocks it
// covered.
func (r *Runner) Step(ctx context.Context) (int64, error) {
	res, err := r.StepResult(ctx)
	if err != nil || res == nil {
		return 0, err
	}
	return res.To - res.From + 1, nil
}

// StepResult is Step with the pass's figures; nil when there was nothing to do.
func (r *Runner) StepResult(ctx context.Context) (*PassResult, error) {
	db := r.cfg.DB
	// During an initial load the history tables have no secondary indexes: the rules'
	// queries would scan them at every pass, so they wait for the rebuild.
	if n, err := db.DeferredIndexes(ctx); err != nil || n > 0 {
		return nil, err
	}
	cc, err := db.GetComplianceCursor(ctx)
	if err != nil {
		return nil, err
	}
	r.recordCursor(cc.Height)
	sc, err := db.Cursor(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if sc.Height <= cc.Height {
		return nil, nil
	}
	set, err := LoadActive(ctx, db)
	if err != nil {
		return nil, err
	}
	wl, err := db.LatestWatchlistVersion(ctx)
	if err != nil {
		return nil, err
	}
	span := r.span.Load()
	for {
		rg := Range{From: cc.Height + 1, To: min(cc.Height+span, sc.Height)}
		res, err := r.pass(ctx, db, set, wl, cc.Height, rg)
		if errors.Is(err, errTooMany) && rg.To > rg.From {
			// Half the range finds about half as much; a single block is bounded by its rows.
			span = max(1, (rg.To-rg.From+1)/2)
			r.span.Store(span)
			r.log.Info("compliance pass found too much; splitting it", "from", rg.From, "to", rg.To, "blocks", span)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("compliance pass %d..%d: %w", rg.From, rg.To, err)
		}
		r.span.Store(min(2*span, r.cfg.MaxBatchBlocks))
		return res, nil
	}
}

// pass evaluates the enabled rules over rg and writes their violations, their window state
// and the cursor, from prev to rg.To, in one transaction. It fails with errTooMany, writing
// nothing, when the findings exceed the bound of a pass over rg.
func (r *Runner) pass(ctx context.Context, db *store.DB, set *ActiveSet, wl int32, prev int64, rg Range) (*PassResult, error) {
	limit := r.cfg.MaxFindings
	if rg.From == rg.To {
		limit = max(limit, MaxFindingsPerBlock)
	}
	res := &PassResult{From: rg.From, To: rg.To, SetVersion: set.Version}
	start := time.Now()
	times := NewEnv(db.Pool)
	var err error
	if rg.FromTime, err = times.blockTime(ctx, rg.From); err != nil {
		return nil, err
	}
	if rg.ToTime, err = times.blockTime(ctx, rg.To); err != nil {
		return nil, err
	}
	ev, err := r.evaluateGroups(ctx, db, set, wl, rg, limit)
	if err != nil {
		return nil, err
	}
	vs := mergeByKey(ev.found)
	res.Findings = len(vs)
	err = db.TransactPgx(ctx, func(tx pgx.Tx) error {
		n, err := writePass(ctx, tx, vs, ev.states, prev, rg, set.Version)
		res.Inserted = n
		return err
	})
	if err != nil {
		return nil, err
	}
	took := time.Since(start)
	r.recordPass(res, vs, took)
	if res.Inserted > 0 {
		// The slowest group is the pass's critical path: the rule to look at when passes fall behind.
		r.log.Info("compliance pass", "from", rg.From, "to", rg.To, "violations", res.Inserted, "took", took,
			"slowest_rules", ev.slowest, "slowest_took", ev.slowestTook)
	}
	return res, nil
}

// evaluated is what the rule groups of a pass found, before it is written.
type evaluated struct {
	found  []store.Violation
	states stateChanges
	// slowest names the group (by its first rule) that took longest, and how long.
	slowest     string
	slowestTook time.Duration
}

// evaluateGroups evaluates the enabled rules of set over rg, each group of rules on a
// connection of its own, side by side: the rules read committed history at or below the sync
// cursor, which no one changes. It fails with errTooMany when they find more than limit.
func (r *Runner) evaluateGroups(ctx context.Context, db *store.DB, set *ActiveSet, wl int32, rg Range, limit int) (*evaluated, error) {
	groups := ruleGroups(set.Rules, r.costs())
	found := make([][]store.Violation, len(groups))
	states := make([]stateChanges, len(groups))
	took := make([]time.Duration, len(groups))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, group := range groups {
		g.Go(func() error {
			began := time.Now()
			return db.TransactPgx(gctx, func(tx pgx.Tx) error {
				env := NewEnv(tx)
				env.WatchlistVersion = wl
				vs, err := evaluate(gctx, env, group, set.Version, rg, limit)
				found[i], states[i], took[i] = vs, env.changes(rg), time.Since(began)
				return err
			})
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	r.noteCosts(groups, took)
	ev := &evaluated{found: slices.Concat(found...)}
	if len(ev.found) > limit {
		return nil, tooMany(limit, rg, "all rules")
	}
	for _, c := range states {
		ev.states.merge(c)
	}
	for i := range took {
		if i == 0 || took[i] > ev.slowestTook {
			ev.slowest, ev.slowestTook = groups[i][0].Rule.ID, took[i]
		}
	}
	return ev, nil
}

// writePass writes a pass's violations, the rules' window state and the compliance cursor,
// from prev to rg.To, in tx, and returns how many violations were new.
func writePass(ctx context.Context, tx pgx.Tx, vs []store.Violation, st stateChanges, prev int64, rg Range, setVersion int32) (int, error) {
	inserted := 0
	for len(vs) > 0 {
		n := min(len(vs), violationsPerWrite)
		ins, err := store.UpsertViolations(ctx, tx, vs[:n])
		if err != nil {
			return 0, err
		}
		inserted += ins
		vs = vs[n:]
	}
	if err := st.write(ctx, tx); err != nil {
		return 0, err
	}
	return inserted, store.AdvanceComplianceCursor(ctx, tx, prev, rg.To, rg.ToTime, setVersion)
}

// ruleGroups splits the enabled rules into groups evaluated apart: the rules that share a
// load (Rule.shares) together, each other rule alone, each group in the set's order; then
// the groups that took longest in the last pass first (cost, by first rule), so that the
// long ones do not end up last on a core, and before any pass the larger groups first.
func ruleGroups(rules []ActiveRule, cost map[string]time.Duration) [][]ActiveRule {
	at := map[string]int{}
	var out [][]ActiveRule
	for _, ar := range rules {
		if !ar.Enabled {
			continue
		}
		if ar.Rule.shares == "" {
			out = append(out, []ActiveRule{ar})
			continue
		}
		i, ok := at[ar.Rule.shares]
		if !ok {
			i = len(out)
			at[ar.Rule.shares] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], ar)
	}
	slices.SortStableFunc(out, func(a, b []ActiveRule) int {
		return cmp.Or(cmp.Compare(cost[b[0].Rule.ID], cost[a[0].Rule.ID]), cmp.Compare(len(b), len(a)))
	})
	return out
}

// evaluate runs rules over rg on env and returns their violations, failing once they exceed
// limit.
func evaluate(ctx context.Context, env *Env, rules []ActiveRule, setVersion int32, rg Range, limit int) ([]store.Violation, error) {
	var vs []store.Violation
	for _, ar := range rules {
		fs, err := ar.Rule.Evaluate(ctx, env, ar.Params, rg)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			v, err := toViolation(ar, setVersion, f)
			if err != nil {
				return nil, err
			}
			vs = append(vs, v)
		}
		if len(vs) > limit {
			return nil, tooMany(limit, rg, "rule "+ar.Rule.ID)
		}
	}
	return vs, nil
}

// tooMany is the error of a pass whose findings exceed limit: errTooMany, so that the
// range is split, or ErrInvalid for a single block, which cannot be.
func tooMany(limit int, rg Range, by string) error {
	if rg.From == rg.To {
		return fmt.Errorf("more than %d findings in block %d (%s): %w", limit, rg.From, by, ErrInvalid)
	}
	return fmt.Errorf("more than %d findings in blocks %d..%d (%s): %w", limit, rg.From, rg.To, by, errTooMany)
}

// toViolation turns a rule's finding into a violation row.
func toViolation(ar ActiveRule, setVersion int32, f Finding) (store.Violation, error) {
	fig, err := json.Marshal(f.Figures)
	if err != nil {
		return store.Violation{}, fmt.Errorf("%s figures: %w", ar.Rule.ID, err)
	}
	if f.Evidence == nil {
		f.Evidence = []Evidence{}
	}
	ev, err := json.Marshal(f.Evidence)
	if err != nil {
		return store.Violation{}, fmt.Errorf("%s evidence: %w", ar.Rule.ID, err)
	}
	return store.Violation{
		RuleID: ar.Rule.ID, RuleVersion: ar.Version, SetVersion: setVersion, Severity: string(ar.Rule.Severity),
		SubjectKind: f.SubjectKind, Subject: f.Subject, WindowKey: f.WindowKey, Member: f.Member, Asset: f.Asset,
		Members: store.UnionMembers([]string{f.Member}, f.Members),
		Height:  f.Height, BlockTime: f.Time.UTC(), LastHeight: f.LastHeight, Summary: f.Summary,
		Figures: fig, Evidence: ev, Status: store.ViolationStatusOpen,
	}, nil
}

// mergeByKey folds findings of one window found at several blocks of a pass into one: the
// first height stays, the latest figures and evidence win, as they would over several passes.
func mergeByKey(vs []store.Violation) []store.Violation {
	idx := map[store.ViolationKey]int{}
	var out []store.Violation
	for _, v := range vs {
		k := store.ViolationKey{RuleID: v.RuleID, Subject: v.Subject, WindowKey: v.WindowKey}
		i, ok := idx[k]
		if !ok {
			idx[k] = len(out)
			out = append(out, v)
			continue
		}
		cur := &out[i]
		members := store.UnionMembers(cur.Members, v.Members)
		if v.LastHeight >= cur.LastHeight { // later in the pass: a fuller window
			first := *cur
			*cur = v
			if first.Height < v.Height {
				// The first trip stays, with the member it named, as over several passes.
				cur.Height, cur.BlockTime, cur.Member = first.Height, first.BlockTime, first.Member
			}
		}
		cur.Members = members
	}
	return out
}
