package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

// auditChain appends n entries a day apart across a month end, so the chain spans partitions.
func auditChain(t *testing.T, n int) *store.DB {
	t.Helper()
	db := pgtest.New(t)
	at := time.Date(2026, 11, 28, 9, 0, 0, 123456789, time.UTC)
	for i := range n {
		_, err := db.AppendAudit(context.Background(), store.AuditEntry{At: at.AddDate(0, 0, i), Actor: "csrc", Role: "regulator",
			Member: "*", Action: store.AuditRead, Route: "GET /transactions", ClientAddr: "127.0.0.1",
			Detail: json.RawMessage(fmt.Sprintf(`{"filters": {"member": "HTSC"}, "count": %d}`, i))})
		if err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// tamper changes the trail as an attacker with the table owner's rights would: with its
// triggers off.
func tamper(t *testing.T, db *store.DB, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, q := range []string{"SET session_replication_role = replica", sql, "RESET session_replication_role"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestAuditChainDetectsTampering(t *testing.T) {
	tests := []struct {
		name    string
		change  string
		breakAt int64
		reason  string
	}{
		{"intact", "", 0, ""},
		{"edited", `UPDATE audit_log SET detail = '{"count": 0, "filters": {"member": "GTJA"}}' WHERE id = 3`, 3, "content"},
		{"deleted", `DELETE FROM audit_log WHERE id = 3`, 4, "deleted or inserted"},
		{"inserted", `INSERT INTO audit_log SELECT 3, at + interval '1 second', 'intruder', role, member, action, route, detail, client_addr, prev_hash, hash FROM audit_log WHERE id = 3`, 3, "deleted or inserted"},
		{"last deleted", `DELETE FROM audit_log WHERE id = 6`, 6, "at the end"},
		{"rechained", `UPDATE audit_log SET actor = 'someone', hash = audit_row_hash(prev_hash, id, at, 'someone', role, member, action, route, detail, client_addr) WHERE id = 2`, 3, "prev_hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := auditChain(t, 6)
			if tt.change != "" {
				tamper(t, db, tt.change)
			}
			v, err := db.VerifyAudit(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tt.breakAt == 0 {
				if v.Break != nil || v.Rows != 6 {
					t.Fatalf("intact chain: %d rows, break %+v", v.Rows, v.Break)
				}
				return
			}
			if v.Break == nil || v.Break.ID != tt.breakAt || !strings.Contains(v.Break.Reason, tt.reason) {
				t.Errorf("break %+v, want at row %d (%s)", v.Break, tt.breakAt, tt.reason)
			}
		})
	}
}

func TestAuditLogRefusesChanges(t *testing.T) {
	db := auditChain(t, 2)
	for _, q := range []string{`UPDATE audit_log SET actor = 'x'`, `DELETE FROM audit_log`, `TRUNCATE audit_log`} {
		if _, err := db.Pool.Exec(context.Background(), q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want it refused", q, err)
		}
	}
}
