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
// A row is only as good as the history it folded: it holds the block it reached, and a
// pass that starts at or below that block (a replay) ignores it and reads the history, as a
// subject without a row does. A family's coverage says from which block every subject that
// moved has a row, so that for a window starting there or later no row means nothing moved.

// windowState is where an Env reads state from and what a pass changed.
type windowState struct {
	// mem, for a backtest, holds the state of earlier chunks; nil reads rule_state.
	mem map[string]map[string]store.RuleState
	// memCover is mem's coverage by family.
	memCover map[string]int64
	// puts are the rows the pass changed, by family and key.
	puts map[string]map[string]store.RuleState
	// trims are, by family, the key below which the pass's windows no longer reach.
	trims map[string]string
	// kept are the families the pass kept state of.
	kept map[string]bool
}

func newWindowState(inMemory bool) *windowState {
	s := &windowState{puts: map[string]map[string]store.RuleState{}, trims: map[string]string{}, kept: map[string]bool{}}
	if inMemory {
		s.mem, s.memCover = map[string]map[string]store.RuleState{}, map[string]int64{}
	}
	return s
}

// maxStateRows bounds the state rows one read returns.
const maxStateRows = 1_000_000

// priorStates returns the rows of family for keys that a pass over r may start from: those
// written by earlier passes.
func (e *Env) priorStates(ctx context.Context, family string, keys []string, r Range) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	if len(keys) == 0 {
		return out, nil
	}
	if m := e.state.mem; m != nil {
		for _, k := range keys {
			if row, ok := m[family][k]; ok && row.Height < r.From {
				out[k] = row.Value
			}
		}
		return out, nil
	}
	err := e.scan(ctx, "rule state "+family, func(rows pgx.Rows) error {
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
	}, `SELECT key, value FROM rule_state WHERE family = $1 AND key = ANY($2) AND height < $3`, family, keys, r.From)
	return out, err
}

// coveredFrom reports whether family has a row for every subject that moved in a window
// starting at block h.
func (e *Env) coveredFrom(ctx context.Context, family string, h int64) (bool, error) {
	if e.state.mem != nil {
		since, ok := e.state.memCover[family]
		return ok && since <= h, nil
	}
	var since int64
	err := e.q.QueryRow(ctx, `SELECT since FROM rule_state_coverage WHERE family = $1`, family).Scan(&since)
	if err == pgx.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("coverage of rule state %s: %w", family, err)
	}
	return since <= h, nil
}

// putState records a subject's state after the pass over r.
func (e *Env) putState(family, key string, r Range, v any) error {
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
	e.state.kept[family] = true
	return nil
}

// keepState records that the pass kept family's state, whether or not it changed a row, and
// that rows keyed below trim (if not empty) are no longer needed.
func (e *Env) keepState(family, trim string) {
	e.state.kept[family] = true
	if trim != "" {
		e.state.trims[family] = trim
	}
}

// stateChanges are what a pass over r changed of the rule state, to write after it.
type stateChanges struct {
	rows  []store.RuleState
	trims map[string]string
	// cover are the families kept, each with the pass's first block.
	cover map[string]int64
}

// changes returns what the Env's evaluations changed of the state over r.
func (e *Env) changes(r Range) stateChanges {
	c := stateChanges{trims: e.state.trims, cover: map[string]int64{}}
	for _, m := range e.state.puts {
		for _, row := range m {
			c.rows = append(c.rows, row)
		}
	}
	for f := range e.state.kept {
		c.cover[f] = r.From
	}
	return c
}

// merge adds other's changes to c.
func (c *stateChanges) merge(other stateChanges) {
	c.rows = append(c.rows, other.rows...)
	if c.trims == nil {
		c.trims = map[string]string{}
	}
	if c.cover == nil {
		c.cover = map[string]int64{}
	}
	for f, k := range other.trims {
		c.trims[f] = k
	}
	for f, h := range other.cover {
		c.cover[f] = h
	}
}

// write stores the changes in tx.
func (c stateChanges) write(ctx context.Context, tx pgx.Tx) error {
	for _, f := range sortedStrings(c.trims) {
		if err := store.DeleteRuleStatesBefore(ctx, tx, f, c.trims[f]); err != nil {
			return err
		}
	}
	if err := store.PutRuleStates(ctx, tx, c.rows); err != nil {
		return err
	}
	for _, f := range sortedStrings(c.cover) {
		if err := store.CoverRuleState(ctx, tx, f, c.cover[f]); err != nil {
			return err
		}
	}
	return nil
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
	for f, k := range s.trims {
		for key := range s.mem[f] {
			if key < k {
				delete(s.mem[f], key)
			}
		}
	}
	for f, m := range s.puts {
		if s.mem[f] == nil {
			s.mem[f] = map[string]store.RuleState{}
		}
		for k, row := range m {
			s.mem[f][k] = row
		}
	}
	for f := range s.kept {
		if _, ok := s.memCover[f]; !ok {
			s.memCover[f] = r.From
		}
	}
	s.puts, s.trims, s.kept = map[string]map[string]store.RuleState{}, map[string]string{}, map[string]bool{}
}
