package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// RuleState is a row of rule_state: one subject's window state in a state family, as of
// the block Height.
type RuleState struct {
	Family string
	Key    string
	Height int64
	Value  json.RawMessage
}

// ruleStatesPerWrite bounds the rows one upsert of rule state sends.
const ruleStatesPerWrite = 10_000

// PutRuleStates writes rows in tx, replacing the rows of the same family and key.
func PutRuleStates(ctx context.Context, tx pgx.Tx, rows []RuleState) error {
	for len(rows) > 0 {
		n := min(len(rows), ruleStatesPerWrite)
		fam, key, val := make([]string, n), make([]string, n), make([]string, n)
		hs := make([]int64, n)
		for i, r := range rows[:n] {
			fam[i], key[i], hs[i], val[i] = r.Family, r.Key, r.Height, string(r.Value)
		}
		// One statement per chunk: a pass of a busy block changes thousands of rows.
		if _, err := tx.Exec(ctx, `INSERT INTO rule_state (family, key, height, value)
			SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::jsonb[])
			ON CONFLICT (family, key) DO UPDATE SET height = EXCLUDED.height, value = EXCLUDED.value`,
			fam, key, hs, val); err != nil {
			return fmt.Errorf("put rule state: %w", err)
		}
		rows = rows[n:]
	}
	return nil
}

// DeleteRuleStatesBefore removes the rows of family whose key sorts before key: the
// families key their rows by window first, so that what a window left behind goes at once.
func DeleteRuleStatesBefore(ctx context.Context, tx pgx.Tx, family, key string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM rule_state WHERE family = $1 AND key < $2`, family, key); err != nil {
		return fmt.Errorf("drop rule state of %s before %s: %w", family, key, err)
	}
	return nil
}

// DeleteRuleStates removes every row of family.
func DeleteRuleStates(ctx context.Context, tx pgx.Tx, family string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM rule_state WHERE family = $1`, family); err != nil {
		return fmt.Errorf("drop rule state of %s: %w", family, err)
	}
	return nil
}

// RuleStateCoverage is a row of rule_state_coverage: the blocks a state family has folded
// without a gap.
type RuleStateCoverage struct {
	Family         string
	Since, Through int64
}

// CoverRuleStates records the coverage of each family in covs.
func CoverRuleStates(ctx context.Context, tx pgx.Tx, covs []RuleStateCoverage) error {
	for _, c := range covs {
		if _, err := tx.Exec(ctx, `INSERT INTO rule_state_coverage (family, since, through) VALUES ($1, $2, $3)
			ON CONFLICT (family) DO UPDATE SET since = EXCLUDED.since, through = EXCLUDED.through`,
			c.Family, c.Since, c.Through); err != nil {
			return fmt.Errorf("cover rule state %s: %w", c.Family, err)
		}
	}
	return nil
}
