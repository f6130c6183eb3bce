package compliance

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

// TestViolationMembers has one owner structure payments through an account at HTSC and one
// at GTJA, in passes of one block so that the window's violation is written three times:
// it belongs to both members, and the member filter lists it under each.
func TestViolationMembers(t *testing.T) {
	start := time.Date(2026, 11, 2, 10, 0, 0, 0, shanghai)
	b := newBuilder(t, start)
	var res uint64
	ht := b.accountAt("HTSC", ledger.KindIndividual, "two-brokers")
	gt := b.accountAt("GTJA", ledger.KindIndividual, "two-brokers")
	b.fund(ht, 2*defaultLVIndividual, &res)
	b.fund(gt, 2*defaultLVIndividual, &res)
	for _, from := range []ledger.Address{addr(ht), addr(gt), addr(ht)} {
		to := b.account(ledger.KindIndividual, "")
		payer := ht
		if from == addr(gt) {
			payer = gt
		}
		b.block(time.Minute, b.sign(&ledger.Transfer{To: addr(to), Asset: ledger.CoinSymbol, Amount: defaultLVIndividual * 95 / 100}, payer))
	}
	db := pgtest.New(t)
	syncAll(t, b.c, db)
	runAll(t, db, 1)
	owner := ownerHex(hashOf("two-brokers"))
	for _, m := range []string{"HTSC", "GTJA"} {
		vs, err := db.Violations(context.Background(), store.ViolationFilter{RuleID: RuleStruct, Member: m, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 1 || vs[0].Subject != owner {
			t.Fatalf("STRUCT under %s: %d violations, want the owner's one", m, len(vs))
		}
		if want := []string{"GTJA", "HTSC"}; !slices.Equal([]string(vs[0].Members), want) {
			t.Errorf("members %v, want %v", vs[0].Members, want)
		}
	}
	vs, err := db.Violations(context.Background(), store.ViolationFilter{RuleID: RuleStruct, Member: "CMCI", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 0 {
		t.Errorf("STRUCT under CMCI: %d violations, want none", len(vs))
	}
}
