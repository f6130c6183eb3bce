package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// RuleVersion is a row of rule_versions: one version of one rule's parameters.
type RuleVersion struct {
	RuleID    string          `gorm:"column:rule_id;primaryKey"`
	Version   int32           `gorm:"column:version;primaryKey"`
	Enabled   bool            `gorm:"column:enabled"`
	Params    json.RawMessage `gorm:"column:params;type:jsonb"`
	CreatedBy string          `gorm:"column:created_by"`
	Reason    string          `gorm:"column:reason"`
	CreatedAt time.Time       `gorm:"column:created_at"`
}

// TableName implements gorm's Tabler.
func (RuleVersion) TableName() string { return "rule_versions" }

// RuleSet is a row of rule_sets: which version of each rule was in force.
type RuleSet struct {
	Version   int32           `gorm:"column:version;primaryKey"`
	Rules     json.RawMessage `gorm:"column:rules;type:jsonb"`
	CreatedBy string          `gorm:"column:created_by"`
	Reason    string          `gorm:"column:reason"`
	CreatedAt time.Time       `gorm:"column:created_at"`
}

// TableName implements gorm's Tabler.
func (RuleSet) TableName() string { return "rule_sets" }

// maxRules bounds the rule list; the catalogue has a few dozen.
const maxRules = 1000

// LatestRuleVersions returns the latest version of every rule, by rule id.
func (db *DB) LatestRuleVersions(ctx context.Context) ([]RuleVersion, error) {
	var out []RuleVersion
	err := db.Gorm.WithContext(ctx).Raw(`SELECT DISTINCT ON (rule_id) * FROM rule_versions
		ORDER BY rule_id, version DESC LIMIT ?`, maxRules).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("latest rule versions: %w", err)
	}
	return out, nil
}

// RuleVersionAt returns one version of a rule; version 0 means the latest.
func (db *DB) RuleVersionAt(ctx context.Context, ruleID string, version int32) (*RuleVersion, error) {
	var rv RuleVersion
	q := db.Gorm.WithContext(ctx).Where("rule_id = ?", ruleID)
	if version > 0 {
		q = q.Where("version = ?", version)
	}
	if err := q.Order("version DESC").Take(&rv).Error; err != nil {
		return nil, notFound(err, fmt.Sprintf("rule %s version %d", ruleID, version))
	}
	return &rv, nil
}

// LatestRuleSet returns the rule set in force; ErrNotFound before any rule is saved.
func (db *DB) LatestRuleSet(ctx context.Context) (*RuleSet, error) {
	var rs RuleSet
	if err := db.Gorm.WithContext(ctx).Order("version DESC").Take(&rs).Error; err != nil {
		return nil, notFound(err, "rule set")
	}
	return &rs, nil
}

// SaveRuleVersions records new versions of the given rules (each one more than its latest,
// or 1) and the rule set they make with the other rules' latest versions, in one transaction.
// When onlyNew is set, rules that already have a version are skipped: that seeds the defaults
// without overriding a change. It returns the new set version, or the current one when nothing
// was written.
func (db *DB) SaveRuleVersions(ctx context.Context, rvs []RuleVersion, by, reason string, onlyNew bool) (int32, error) {
	if by == "" || reason == "" {
		return 0, fmt.Errorf("save rule versions: who and why are required: %w", ErrInvalid)
	}
	var setVersion int32
	err := db.TransactPgx(ctx, func(tx pgx.Tx) error {
		// One writer at a time: versions are numbered max+1.
		if _, err := tx.Exec(ctx, "LOCK TABLE rule_versions, rule_sets IN EXCLUSIVE MODE"); err != nil {
			return err
		}
		now := time.Now().UTC()
		wrote := false
		for _, rv := range rvs {
			var latest int32
			if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM rule_versions WHERE rule_id = $1", rv.RuleID).Scan(&latest); err != nil {
				return err
			}
			if onlyNew && latest > 0 {
				continue
			}
			if _, err := tx.Exec(ctx, `INSERT INTO rule_versions (rule_id, version, enabled, params, created_by, reason, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, rv.RuleID, latest+1, rv.Enabled, []byte(rv.Params), by, reason, now); err != nil {
				return err
			}
			wrote = true
		}
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM rule_sets").Scan(&setVersion); err != nil {
			return err
		}
		if !wrote {
			return nil
		}
		setVersion++
		_, err := tx.Exec(ctx, `INSERT INTO rule_sets (version, rules, created_by, reason, created_at)
			SELECT $1, coalesce(jsonb_object_agg(rule_id, version), '{}'::jsonb), $2, $3, $4
			FROM (SELECT rule_id, max(version) AS version FROM rule_versions GROUP BY rule_id) v`, setVersion, by, reason, now)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("save rule versions: %w", err)
	}
	return setVersion, nil
}

// ComplianceCursor is the rule runner's cursor.
type ComplianceCursor struct {
	ID         int16     `gorm:"column:id;primaryKey"`
	Height     int64     `gorm:"column:height"`
	BlockTime  time.Time `gorm:"column:block_time"`
	SetVersion int32     `gorm:"column:set_version"`
	UpdatedAt  time.Time `gorm:"column:updated_at"`
}

// TableName implements gorm's Tabler.
func (ComplianceCursor) TableName() string { return "compliance_cursor" }

// GetComplianceCursor returns the rule runner's cursor; height 0 before its first pass.
func (db *DB) GetComplianceCursor(ctx context.Context) (*ComplianceCursor, error) {
	var c ComplianceCursor
	err := db.Gorm.WithContext(ctx).Where("id = 1").Take(&c).Error
	if err != nil {
		if errors.Is(notFound(err, ""), ErrNotFound) {
			return &ComplianceCursor{ID: 1}, nil
		}
		return nil, fmt.Errorf("compliance cursor: %w", err)
	}
	return &c, nil
}

// AdvanceComplianceCursor moves the cursor from one height to the next inside tx. It fails
// with ErrConflict when the stored cursor is not at from: another runner got there first, and
// the caller's transaction must roll back with the violations it wrote.
func AdvanceComplianceCursor(ctx context.Context, tx pgx.Tx, from, to int64, blockTime time.Time, setVersion int32) error {
	now := time.Now().UTC()
	var tag interface{ RowsAffected() int64 }
	var err error
	if from == 0 {
		tag, err = tx.Exec(ctx, `INSERT INTO compliance_cursor (id, height, block_time, set_version, updated_at)
			VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET height = EXCLUDED.height,
			block_time = EXCLUDED.block_time, set_version = EXCLUDED.set_version, updated_at = EXCLUDED.updated_at
			WHERE compliance_cursor.height = 0`, to, blockTime, setVersion, now)
	} else {
		tag, err = tx.Exec(ctx, `UPDATE compliance_cursor SET height = $1, block_time = $2, set_version = $3, updated_at = $4
			WHERE id = 1 AND height = $5`, to, blockTime, setVersion, now, from)
	}
	if err != nil {
		return fmt.Errorf("advance compliance cursor: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("advance compliance cursor from %d: moved by another runner: %w", from, ErrConflict)
	}
	return nil
}
