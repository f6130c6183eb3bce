package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditEntry is one row of the portal's audit trail.
type AuditEntry struct {
	ID         int64
	At         time.Time
	Actor      string
	Role       string
	Member     string
	Action     string
	Route      string
	Detail     json.RawMessage
	ClientAddr string
	PrevHash   []byte
	Hash       []byte
}

// Audit actions.
const (
	AuditLogin              = "login"
	AuditLoginFailed        = "login_failed"
	AuditLogout             = "logout"
	AuditSecondFactor       = "second_factor"
	AuditSecondFactorFailed = "second_factor_failed"
	AuditRead               = "read"
	AuditSearch             = "search"
	AuditDenied             = "denied"
	AuditAdmin              = "admin"
)

// AppendAudit adds an entry to the chain: in one statement it takes the chain's head under
// a row lock, which serialises appends from every replica, inserts the row with its hash
// (computed by the database's audit_row_hash, the one definition) and moves the head.
func (db *DB) AppendAudit(ctx context.Context, e AuditEntry) (int64, error) {
	if len(e.Detail) == 0 {
		e.Detail = json.RawMessage("{}")
	}
	at := e.At.UTC().Truncate(time.Microsecond)
	if err := db.ensureAuditMonth(ctx, at); err != nil {
		return 0, err
	}
	var id int64
	err := db.Pool.QueryRow(ctx, `WITH head AS (SELECT last_id, hash FROM audit_head FOR UPDATE),
		ins AS (
			INSERT INTO audit_log (id, at, actor, role, member, action, route, detail, client_addr, prev_hash, hash)
			SELECT head.last_id + 1, $1, $2, $3, $4, $5, $6, $7, $8, head.hash,
				audit_row_hash(head.hash, head.last_id + 1, $1, $2, $3, $4, $5, $6, $7, $8)
			FROM head RETURNING id, hash)
		UPDATE audit_head SET last_id = ins.id, hash = ins.hash FROM ins RETURNING ins.id`,
		at, e.Actor, e.Role, e.Member, e.Action, e.Route, e.Detail, e.ClientAddr).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("audit %s %s: %w", e.Action, e.Route, err)
	}
	return id, nil
}

// ensureAuditMonth creates the month's partition once per process and month.
func (db *DB) ensureAuditMonth(ctx context.Context, at time.Time) error {
	m := monthStart(at).Unix()
	db.partMu.Lock()
	done := db.auditMonths[m]
	db.partMu.Unlock()
	if done {
		return nil
	}
	if _, err := db.Pool.Exec(ctx, `SELECT ensure_audit_partition($1)`, at); err != nil {
		return fmt.Errorf("audit partition %s: %w", at.Format("2006-01"), err)
	}
	db.partMu.Lock()
	db.auditMonths[m] = true
	db.partMu.Unlock()
	return nil
}

// AuditBreak is where the chain stops matching: the first row that does not, and why.
type AuditBreak struct {
	ID     int64
	Reason string
}

// AuditVerification is what a walk of the chain found.
type AuditVerification struct {
	// Rows is how many rows were checked; FirstID and LastID the range.
	Rows, FirstID, LastID int64
	// Break is the first row that does not match, nil when the whole chain does.
	Break *AuditBreak
}

// VerifyAudit walks the chain in id order, from the last retention cut (or the start), and
// names the first row whose hash does not match its content, whose prev_hash is not the hash
// before it, or whose id does not follow: an edited, a deleted and an inserted row each
// break it there. The head must then be the last row.
func (db *DB) VerifyAudit(ctx context.Context) (*AuditVerification, error) {
	v := &AuditVerification{}
	wantID, prev := int64(1), make([]byte, 32)
	err := db.Pool.QueryRow(ctx, `SELECT last_id + 1, last_hash FROM audit_cuts ORDER BY cut_at DESC LIMIT 1`).Scan(&wantID, &prev)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("audit cuts: %w", err)
	}
	rows, err := db.Pool.Query(ctx, `SELECT id, prev_hash, hash,
			hash = audit_row_hash(prev_hash, id, at, actor, role, member, action, route, detail, client_addr)
		FROM audit_log ORDER BY id, at`)
	if err != nil {
		return nil, fmt.Errorf("audit verify: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var prevHash, hash []byte
		var ok bool
		if err := rows.Scan(&id, &prevHash, &hash, &ok); err != nil {
			return nil, fmt.Errorf("audit verify: %w", err)
		}
		if v.Rows == 0 {
			v.FirstID = id
		}
		v.Rows, v.LastID = v.Rows+1, id
		switch {
		case id != wantID:
			v.Break = &AuditBreak{ID: id, Reason: fmt.Sprintf("row %d follows where row %d was expected: rows were deleted or inserted", id, wantID)}
		case !bytes.Equal(prevHash, prev):
			v.Break = &AuditBreak{ID: id, Reason: "its prev_hash is not the hash of the row before it"}
		case !ok:
			v.Break = &AuditBreak{ID: id, Reason: "its content does not match its hash: the row was changed"}
		}
		if v.Break != nil {
			return v, nil
		}
		wantID, prev = id+1, hash
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit verify: %w", err)
	}
	var headID int64
	var headHash []byte
	if err := db.Pool.QueryRow(ctx, `SELECT last_id, hash FROM audit_head`).Scan(&headID, &headHash); err != nil {
		return nil, fmt.Errorf("audit head: %w", err)
	}
	if headID != wantID-1 || !bytes.Equal(headHash, prev) {
		v.Break = &AuditBreak{ID: headID, Reason: fmt.Sprintf("the chain's head says row %d, the table ends at row %d: rows at the end were deleted", headID, wantID-1)}
	}
	return v, nil
}

// AuditPage is a page of the trail, newest first, before the id given (0: the newest).
func (db *DB) AuditPage(ctx context.Context, before int64, limit int) ([]AuditEntry, error) {
	if before <= 0 {
		before = 1 << 62
	}
	rows, err := db.Pool.Query(ctx, `SELECT id, at, actor, role, member, action, route, detail, client_addr, prev_hash, hash
		FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("audit page: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		err := r.Scan(&e.ID, &e.At, &e.Actor, &e.Role, &e.Member, &e.Action, &e.Route, &e.Detail, &e.ClientAddr, &e.PrevHash, &e.Hash)
		return e, err
	})
}
