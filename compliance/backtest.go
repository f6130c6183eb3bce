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
	p, err := r.Decode(base.Params)
	if err != nil {
		return nil, err
	}
	for _, k := range sortedStrings(req.Set) {
		if err := Set(p, k, req.Set[k]); err != nil {
			return nil, fmt.Errorf("%s: %w", req.RuleID, err)
		}
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	if req.To == 0 {
		cc, err := db.GetComplianceCursor(ctx)
		if err != nil {
			return nil, err
		}
		req.To = cc.Height
	}
	if req.From < 1 {
		req.From = 1
	}
	if req.To < req.From {
		return nil, fmt.Errorf("backtest range %d..%d: %w", req.From, req.To, ErrInvalid)
	}
	chunk := req.ChunkBlocks
	if chunk <= 0 {
		chunk = DefaultBacktestChunk
	}
	wl, err := db.LatestWatchlistVersion(ctx)
	if err != nil {
		return nil, err
	}
	ar := ActiveRule{Rule: r, Version: base.Version, Enabled: true, Params: p, Raw: raw}
	res := &BacktestResult{RuleID: r.ID, BaseVersion: base.Version, Params: raw, From: req.From, To: req.To}
	var all []store.Violation
	err = pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		env := NewEnv(tx)
		env.state = newWindowState(true)
		env.WatchlistVersion = wl
		for from := req.From; from <= req.To; from += chunk {
			rg := Range{From: from, To: min(from+chunk-1, req.To)}
			var err error
			if rg.FromTime, err = env.blockTime(ctx, rg.From); err != nil {
				return err
			}
			if rg.ToTime, err = env.blockTime(ctx, rg.To); err != nil {
				return err
			}
			fs, err := r.Evaluate(ctx, env, p, rg)
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
				return fmt.Errorf("backtest of %s flags more than %d: narrow the range: %w", r.ID, MaxBacktestFindings, ErrInvalid)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("backtest %s: %w", r.ID, err)
	}
	res.Would = mergeByKey(all)
	live, err := db.ViolationKeys(ctx, r.ID, req.From, req.To, MaxBacktestFindings)
	if err != nil {
		return nil, err
	}
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
	return res, nil
}
