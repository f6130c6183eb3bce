package compliance

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/ledgerscope/ledgerscope/store"
)

// Bounds of a backtest.
const (
	DefaultBacktestChunk = 500
	MaxBacktestFindings  = 100_000
)

// BacktestRequest asks what one rule would have flagged over a range of history.
type BacktestRequest struct {
	// RuleID is the rule to run.
	RuleID string
	// Version is the stored version whose parameters start the run; 0 is the latest.
	Version int32
	// Set overrides parameters (name=value, see Set) on top of that version.
	Set map[string]string
	// From and To are the heights, both included; To 0 means the rules' cursor.
	From, To int64
	// ChunkBlocks bounds the blocks evaluated at a time; 0 is DefaultBacktestChunk.
	ChunkBlocks int64
}

// BacktestResult compares what the rule version would flag with the live violations of the
// rule first raised in the same range.
type BacktestResult struct {
	RuleID      string
	BaseVersion int32
	Params      json.RawMessage
	From, To    int64
	// Would is everything the run flagged.
	Would []store.Violation
	// Added are flagged by the run but not live; Removed are live but not flagged by the run.
	Added, Removed []store.Violation
	// Unchanged counts violations both flag.
	Unchanged int
}

// Backtest runs a rule version over history without writing anything: it reads in a
// read-only transaction, carries the rule's window state from chunk to chunk in memory,
// and compares its findings with the live violations.
func Backtest(ctx context.Context, db *store.DB, req BacktestRequest) (*BacktestResult, error) {
	r, err := RuleByID(req.RuleID)
	if err != nil {
		return nil, err
	}
	if _, err := LoadActive(ctx, db); err != nil {
		return nil, err
	}
	base, err := db.RuleVersionAt(ctx, req.RuleID, req.Version)
	if err != nil {
		return nil, err
	}
	p, raw, err := backtestParams(r, base.Params, req.Set)
	if err != nil {
		return nil, err
	}
	if err := req.resolve(ctx, db); err != nil {
		return nil, err
	}
	wl, err := db.LatestWatchlistVersion(ctx)
	if err != nil {
		return nil, err
	}
	ar := ActiveRule{Rule: r, Version: base.Version, Enabled: true, Params: p, Raw: raw}
	all, err := backtestRun(ctx, db, ar, req, wl)
	if err != nil {
		return nil, fmt.Errorf("backtest %s: %w", r.ID, err)
	}
	res := &BacktestResult{RuleID: r.ID, BaseVersion: base.Version, Params: raw, From: req.From, To: req.To}
	res.Would = mergeByKey(all)
	live, err := db.ViolationKeys(ctx, r.ID, req.From, req.To, MaxBacktestFindings)
	if err != nil {
		return nil, err
	}
	res.compare(live)
	return res, nil
}

// backtestParams decodes a stored version's parameters and sets those of set on top, in
// order of their names; it returns them decoded and as JSON.
func backtestParams(r *Rule, stored []byte, set map[string]string) (Params, []byte, error) {
	p, err := r.Decode(stored)
	if err != nil {
		return nil, nil, err
	}
	for _, k := range sortedStrings(set) {
		if err := Set(p, k, set[k]); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", r.ID, err)
		}
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, nil, err
	}
	return p, raw, nil
}

// resolve puts in the request's defaults: To the rules' cursor, From at least 1, the chunk
// DefaultBacktestChunk.
func (req *BacktestRequest) resolve(ctx context.Context, db *store.DB) error {
	if req.To == 0 {
		cc, err := db.GetComplianceCursor(ctx)
		if err != nil {
			return err
		}
		req.To = cc.Height
	}
	if req.From < 1 {
		req.From = 1
	}
	if req.To < req.From {
		return fmt.Errorf("backtest range %d..%d: %w", req.From, req.To, ErrInvalid)
	}
	if req.ChunkBlocks <= 0 {
		req.ChunkBlocks = DefaultBacktestChunk
	}
	return nil
}

// backtestRun evaluates the rule over the request's range, a chunk at a time, in one
// read-only transaction, and returns what it flags.
func backtestRun(ctx context.Context, db *store.DB, ar ActiveRule, req BacktestRequest, wl int32) ([]store.Violation, error) {
	var all []store.Violation
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		env := NewEnv(tx)
		env.state = newWindowState(true)
		env.WatchlistVersion = wl
		for from := req.From; from <= req.To; from += req.ChunkBlocks {
			rg := Range{From: from, To: min(from+req.ChunkBlocks-1, req.To)}
			var err error
			if rg.FromTime, err = env.blockTime(ctx, rg.From); err != nil {
				return err
			}
			if rg.ToTime, err = env.blockTime(ctx, rg.To); err != nil {
				return err
			}
			fs, err := ar.Rule.Evaluate(ctx, env, ar.Params, rg)
			if err != nil {
				return err
			}
			env.endChunk(rg)
			for _, f := range fs {
				v, err := toViolation(ar, 0, f)
				if err != nil {
					return err
				}
				all = append(all, v)
			}
			if len(all) > MaxBacktestFindings {
				return fmt.Errorf("backtest of %s flags more than %d: narrow the range: %w", ar.Rule.ID, MaxBacktestFindings, ErrInvalid)
			}
		}
		return nil
	})
	return all, err
}

// compare sorts what the run flags into added and unchanged by the live violations, and
// the live violations it does not flag into removed.
func (res *BacktestResult) compare(live map[store.ViolationKey]store.Violation) {
	seen := map[store.ViolationKey]bool{}
	for _, v := range res.Would {
		k := store.ViolationKey{RuleID: v.RuleID, Subject: v.Subject, WindowKey: v.WindowKey}
		seen[k] = true
		if _, ok := live[k]; ok {
			res.Unchanged++
		} else {
			res.Added = append(res.Added, v)
		}
	}
	for k, v := range live {
		if !seen[k] {
			res.Removed = append(res.Removed, v)
		}
	}
	sort.Slice(res.Removed, func(i, j int) bool { return res.Removed[i].ID < res.Removed[j].ID })
}
