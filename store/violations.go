package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Violation is a row of violations: what a rule flagged, with its figures and evidence.
type Violation struct {
	ID          int64  `gorm:"column:id;primaryKey"`
	RuleID      string `gorm:"column:rule_id"`
	RuleVersion int32  `gorm:"column:rule_version"`
	SetVersion  int32  `gorm:"column:set_version"`
	Severity    string `gorm:"column:severity"`
	SubjectKind string `gorm:"column:subject_kind"`
	Subject     string `gorm:"column:subject"`
	WindowKey   string `gorm:"column:window_key"`
	Member      string `gorm:"column:member"`
	// Members is every member sponsoring an account of the subject that took part: the
	// members whose scope the violation is in. A counterparty named in the evidence does not
	// bring its member in (docs/rules.md, Evidence).
	Members    StringList      `gorm:"column:members;type:text[]"`
	Asset      string          `gorm:"column:asset"`
	Height     int64           `gorm:"column:height"`
	BlockTime  time.Time       `gorm:"column:block_time"`
	LastHeight int64           `gorm:"column:last_height"`
	Summary    string          `gorm:"column:summary"`
	Figures    json.RawMessage `gorm:"column:figures;type:jsonb"`
	Evidence   json.RawMessage `gorm:"column:evidence;type:jsonb"`
	Status     string          `gorm:"column:status"`
	CreatedAt  time.Time       `gorm:"column:created_at"`
	UpdatedAt  time.Time       `gorm:"column:updated_at"`
}

// TableName implements gorm's Tabler.
func (Violation) TableName() string { return "violations" }

// ViolationStatusOpen is the status of a new violation.
const ViolationStatusOpen = "open"

// UpsertViolations writes violations inside tx: a new (rule, subject, window) is inserted;
// an existing one keeps its id, first height and status and takes the newer figures and
// evidence only when they reach a later height, so writing the same pass twice changes
// nothing. Each (rule, subject, window) may appear once. It returns how many rows were
// inserted.
func UpsertViolations(ctx context.Context, tx pgx.Tx, vs []Violation) (int, error) {
	if len(vs) == 0 {
		return 0, nil
	}
	// One COPY into a scratch table and one statement from it: a pass over a busy range
	// raises tens of thousands, and a statement each took a tenth of the pass.
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE violations_in (rule_id text, rule_version integer, set_version integer,
		severity text, subject_kind text, subject text, window_key text, member text, asset text, height bigint,
		block_time timestamptz, last_height bigint, summary text, figures jsonb, evidence jsonb, members text[]) ON COMMIT DROP`); err != nil {
		return 0, fmt.Errorf("upsert violations: %w", err)
	}
	cols := []string{"rule_id", "rule_version", "set_version", "severity", "subject_kind", "subject", "window_key", "member",
		"asset", "height", "block_time", "last_height", "summary", "figures", "evidence", "members"}
	rows := make([][]any, len(vs))
	for i, v := range vs {
		rows[i] = []any{v.RuleID, v.RuleVersion, v.SetVersion, v.Severity, v.SubjectKind, v.Subject, v.WindowKey, v.Member, v.Asset,
			v.Height, v.BlockTime.UTC(), v.LastHeight, v.Summary, string(v.Figures), string(v.Evidence), []string(UnionMembers([]string{v.Member}, v.Members))}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"violations_in"}, cols, pgx.CopyFromRows(rows)); err != nil {
		return 0, fmt.Errorf("upsert violations: copy: %w", err)
	}
	var inserted int
	err := tx.QueryRow(ctx, `WITH up AS (
		INSERT INTO violations (rule_id, rule_version, set_version, severity, subject_kind, subject, window_key, member, asset,
			height, block_time, last_height, summary, figures, evidence, members, status, created_at, updated_at)
		SELECT rule_id, rule_version, set_version, severity, subject_kind, subject, window_key, member, asset,
			height, block_time, last_height, summary, figures, evidence, members, 'open', $1, $1 FROM violations_in
		ON CONFLICT (rule_id, subject, window_key) DO UPDATE SET last_height = EXCLUDED.last_height,
			summary = EXCLUDED.summary, figures = EXCLUDED.figures, evidence = EXCLUDED.evidence, updated_at = EXCLUDED.updated_at,
			members = ARRAY(SELECT DISTINCT m FROM unnest(violations.members || EXCLUDED.members) m ORDER BY m)
		WHERE violations.last_height < EXCLUDED.last_height
		RETURNING (xmax = 0) AS new)
		SELECT count(*) FILTER (WHERE new) FROM up`, time.Now().UTC()).Scan(&inserted)
	if err != nil {
		return 0, fmt.Errorf("upsert violations: %w", err)
	}
	if _, err := tx.Exec(ctx, `DROP TABLE violations_in`); err != nil {
		return 0, fmt.Errorf("upsert violations: %w", err)
	}
	return inserted, nil
}

// UnionMembers is the members of the lists, sorted, without duplicates or blanks: the form
// violations.members keeps.
func UnionMembers(lists ...[]string) StringList {
	out := StringList{}
	for _, m := range slices.Concat(lists...) {
		if m != "" && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return out
}

// ViolationFilter selects a page of violations, newest first.
type ViolationFilter struct {
	// RuleID, Status, Member and Subject filter when set; Member matches every member a
	// violation belongs to (Violation.Members).
	RuleID, Status, Member, Subject string
	// FromHeight and ToHeight bound the first height when non-zero.
	FromHeight, ToHeight int64
	// BeforeID continues after the last row of the previous page (keyset on id).
	BeforeID int64
	// Limit is the page size, 1 to MaxPage.
	Limit int
}

// Violations returns a page of violations, newest (highest id) first.
func (db *DB) Violations(ctx context.Context, f ViolationFilter) ([]Violation, error) {
	if f.Limit < 1 || f.Limit > MaxPage {
		return nil, fmt.Errorf("violations: limit %d: %w", f.Limit, ErrInvalid)
	}
	q := db.Gorm.WithContext(ctx).Order("id DESC").Limit(f.Limit)
	if f.RuleID != "" {
		q = q.Where("rule_id = ?", f.RuleID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Member != "" {
		// Every member whose account took part, through the GIN index on members.
		q = q.Where("members @> ARRAY[?]::text[]", f.Member)
	}
	if f.Subject != "" {
		q = q.Where("subject = ?", f.Subject)
	}
	if f.FromHeight > 0 {
		q = q.Where("height >= ?", f.FromHeight)
	}
	if f.ToHeight > 0 {
		q = q.Where("height <= ?", f.ToHeight)
	}
	if f.BeforeID > 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	var out []Violation
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("violations: %w", err)
	}
	return out, nil
}

// ViolationKey identifies a violation: one per rule, subject and window.
type ViolationKey struct {
	RuleID, Subject, WindowKey string
}

// ViolationKeys returns the keys of a rule's live violations first raised in a height range,
// at most limit of them; more is an ErrInvalid (the caller narrows the range).
func (db *DB) ViolationKeys(ctx context.Context, ruleID string, from, to int64, limit int) (map[ViolationKey]Violation, error) {
	var rows []Violation
	err := db.Gorm.WithContext(ctx).Where("rule_id = ? AND height BETWEEN ? AND ?", ruleID, from, to).
		Order("height, id").Limit(limit + 1).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("violation keys: %w", err)
	}
	if len(rows) > limit {
		return nil, fmt.Errorf("violation keys of %s in %d..%d: more than %d: %w", ruleID, from, to, limit, ErrInvalid)
	}
	out := make(map[ViolationKey]Violation, len(rows))
	for _, v := range rows {
		out[ViolationKey{v.RuleID, v.Subject, v.WindowKey}] = v
	}
	return out, nil
}
