package compliance

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ledgerscope/ledgerscope/store"
)

// A rule whose window reaches behind the blocks of a pass (a day's large-value sums, the
// base of a holding above 5%) keeps what it folded of that window as state, so that the
// next pass starts from it instead of reading the window again. State lives in rule_state,
// written with the violations and the cursor in the pass's transaction; a backtest keeps its
// own in memory from one chunk to the next and writes nothing.
//
// A family's coverage says which blocks it has folded without a gap: from since, the first
// block of the first pass that kept it, through the last block of the last one. A pass that
// starts right after through continues it: a subject's row is its state (a subject that has
// not moved since keeps its row as it was), and for a window starting at since or later no
// row means nothing moved. Any other pass (the family was not kept for a while, the rule
// being disabled; or a replay from behind through) reads none of the rows, reads the history
// instead, and starts the family again from its own first block, its rows replaced.

// windowState is where an Env reads state from and what a pass changed.
type windowState struct {
	// mem, for a backtest, holds the state of earlier chunks; nil reads rule_state.
	mem map[string]map[string]store.RuleState
	// memCover is mem's coverage by family.
	memCover map[string]store.RuleStateCoverage
	// cover is each family's coverage as the pass found it, once looked up, and whether
	// the pass continues it.
	cover map[string]familyCover
	// puts are the rows the pass changed, by family and key.
	puts map[string]map[string]store.RuleState
	// trims are, by family, the key below which the pass's windows no longer reach.
	trims map[string]string
	// kept are the families the pass kept state of.
	kept map[string]bool
}

// familyCover is a family's coverage as a pass found it.
type familyCover struct {
	store.RuleStateCoverage
	// continues says the pass starts right after the coverage: its rows hold.
	continues bool
}

func newWindowState(inMemory bool) *windowState {
	s := &windowState{cover: map[string]familyCover{}}
	s.reset()
	if inMemory {
		s.mem, s.memCover = map[string]map[string]store.RuleState{}, map[string]store.RuleStateCoverage{}
	}
	return s
}

// reset forgets what a pass changed.
func (s *windowState) reset() {
	s.puts, s.trims, s.kept = map[string]map[string]store.RuleState{}, map[string]string{}, map[string]bool{}
	clear(s.cover)
}

// coverage returns family's coverage as the pass over r finds it.
func (e *Env) coverage(ctx context.Context, family string, r Range) (familyCover, error) {
	if c, ok := e.state.cover[family]; ok {
		return c, nil
	}
	var c familyCover
	if e.state.mem != nil {
		c.RuleStateCoverage = e.state.memCover[family]
	} else {
		err := e.q.QueryRow(ctx, `SELECT since, through FROM rule_state_coverage WHERE family = $1`, family).Scan(&c.Since, &c.Through)
		if err != nil && err != pgx.ErrNoRows {
			return c, fmt.Errorf("coverage of rule state %s: %w", family, err)
		}
	}
	c.continues = c.Since > 0 && c.Through == r.From-1
	e.state.cover[family] = c
	return c, nil
}

// maxStateRows bounds the state rows one read returns.
const maxStateRows = 1_000_000

// priorStates returns the rows of family for keys that a pass over r may start from: none
// unless the pass continues the family's coverage.
func (e *Env) priorStates(ctx context.Context, family string, keys []string, r Range) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	c, err := e.coverage(ctx, family, r)
	if err != nil || !c.continues || len(keys) == 0 {
		return out, err
	}
	if m := e.state.mem; m != nil {
		for _, k := range keys {
			if row, ok := m[family][k]; ok {
				out[k] = row.Value
			}
		}
		return out, nil
	}
	err = e.scan(ctx, "rule state "+family, func(rows pgx.Rows) error {
		var k string
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		if len(out) >= maxStateRows {
			return fmt.Errorf("more than %d rows: %w", maxStateRows, ErrInvalid)
		}
		out[k] = v
		return nil
	}, `SELECT key, value FROM rule_state WHERE family = $1 AND key = ANY($2)`, family, keys)
	return out, err
}

// coveredFrom reports whether, in a pass over r, family has a row for every subject that
// moved in a window starting at block h.
func (e *Env) coveredFrom(ctx context.Context, family string, h int64, r Range) (bool, error) {
	c, err := e.coverage(ctx, family, r)
	return c.continues && c.Since <= h, err
}

// putState records a subject's state after the pass over r, in a family keepState has
// named for the pass (only those families' rows are written).
func (e *Env) putState(family, key string, r Range, v any) error {
	if !e.state.kept[family] {
		return fmt.Errorf("rule state %s: put before keepState", family)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("rule state %s %s: %w", family, key, err)
	}
	m := e.state.puts[family]
	if m == nil {
		m = map[string]store.RuleState{}
		e.state.puts[family] = m
	}
	m[key] = store.RuleState{Family: family, Key: key, Height: r.To, Value: raw}
	return nil
}

// keepState records that the pass over r keeps family's state, whether or not it changes
// a row, and that rows keyed below trim (if not empty) are no longer needed. A rule that
// keeps a family calls it at every pass, so that the coverage has no gap.
func (e *Env) keepState(ctx context.Context, family, trim string, r Range) error {
	if _, err := e.coverage(ctx, family, r); err != nil {
		return err
	}
	e.state.kept[family] = true
	if trim != "" {
		e.state.trims[family] = trim
	}
	return nil
}

// stateChanges are what a pass changed of the rule state, to write after it.
type stateChanges struct {
	rows  []store.RuleState
	trims map[string]string
	// restart are the families the pass starts again: their rows go first.
	restart []string
	cover   []store.RuleStateCoverage
}

// changes returns what the Env's evaluations over r changed of the state.
func (e *Env) changes(r Range) stateChanges {
	c := stateChanges{trims: e.state.trims}
	for f := range e.state.kept {
		for _, row := range e.state.puts[f] {
			c.rows = append(c.rows, row)
		}
		cov := e.state.cover[f]
		next := store.RuleStateCoverage{Family: f, Since: cov.Since, Through: r.To}
		if !cov.continues {
			c.restart = append(c.restart, f)
			next.Since = r.From
		}
		c.cover = append(c.cover, next)
	}
	return c
}

// merge adds other's changes to c.
func (c *stateChanges) merge(other stateChanges) {
	c.rows = append(c.rows, other.rows...)
	c.restart = append(c.restart, other.restart...)
	c.cover = append(c.cover, other.cover...)
	if c.trims == nil {
		c.trims = map[string]string{}
	}
	for f, k := range other.trims {
		c.trims[f] = k
	}
}

// write stores the changes in tx.
func (c stateChanges) write(ctx context.Context, tx pgx.Tx) error {
	for _, f := range c.restart {
		if err := store.DeleteRuleStates(ctx, tx, f); err != nil {
			return err
		}
	}
	for _, f := range sortedStrings(c.trims) {
		if err := store.DeleteRuleStatesBefore(ctx, tx, f, c.trims[f]); err != nil {
			return err
		}
	}
	if err := store.PutRuleStates(ctx, tx, c.rows); err != nil {
		return err
	}
	return store.CoverRuleStates(ctx, tx, c.cover)
}

// endChunk, for a backtest, folds the chunk's changes into its memory and clears them, and
// drops the loads of the chunk's range, which the next chunk does not read.
func (e *Env) endChunk(r Range) {
	clear(e.moves)
	clear(e.lv)
	clear(e.holdings)
	clear(e.tradeLoads)
	s := e.state
	if s.mem == nil {
		return
	}
	c := e.changes(r)
	for _, f := range c.restart {
		delete(s.mem, f)
	}
	for f, k := range c.trims {
		for key := range s.mem[f] {
			if key < k {
				delete(s.mem[f], key)
			}
		}
	}
	for _, row := range c.rows {
		if s.mem[row.Family] == nil {
			s.mem[row.Family] = map[string]store.RuleState{}
		}
		s.mem[row.Family][row.Key] = row
	}
	for _, cov := range c.cover {
		s.memCover[cov.Family] = cov
	}
	s.reset()
}
