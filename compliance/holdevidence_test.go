package compliance

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

// holdOwner is one beneficial owner with an account at HTSC, one at GTJA and one at CMCI,
// and a holder of a security's supply at PAFG to move it from.
type holdOwner struct {
	b           *builder
	ht, gt, cm  ed25519.PrivateKey
	big         ed25519.PrivateKey
	owner       string
	crossHeight int64
}

func newHoldOwner(b *builder) *holdOwner {
	o := &holdOwner{b: b, owner: ownerHex(hashOf("hold-evidence"))}
	o.big = b.accountAt("PAFG", ledger.KindInstitution, "")
	o.ht = b.accountAt("HTSC", ledger.KindIndividual, "hold-evidence")
	o.gt = b.accountAt("GTJA", ledger.KindIndividual, "hold-evidence")
	o.cm = b.accountAt("CMCI", ledger.KindIndividual, "hold-evidence")
	return o
}

// send is a transfer of amount of asset from one account to another, signed by the payer.
func (o *holdOwner) send(from, to ed25519.PrivateKey, asset string, amount uint64) []byte {
	return o.b.sign(&ledger.Transfer{To: addr(to), Asset: asset, Amount: amount}, from)
}

// cross commits txs as the block the case is about and notes its height.
func (o *holdOwner) cross(txs ...[]byte) {
	o.b.block(time.Second, txs...)
	o.crossHeight = o.b.c.Height()
}

// holdWant is what a holding rule's violation of the owner at the crossing block must say.
type holdWant struct {
	rule, member string
	members      []string
	summary      string
	evidence     []Evidence
}

// moveWant is the evidence of a movement: its transaction, what the note says, and its sides
// (nil for a mint's payer or a burn's payee) with their members.
func (o *holdOwner) moveWant(raw []byte, note string, asset string, amount int64, from, to ed25519.PrivateKey, fromM, toM string) Evidence {
	ev := Evidence{Tx: ledger.TxHash(raw).String(), Height: o.crossHeight, Note: note}
	if from != nil {
		a := addr(from)
		ev.Accounts = append(ev.Accounts, EvidenceAccount{Address: a.String(), Member: fromM, Role: "from", Asset: asset, Amount: &amount})
	}
	if to != nil {
		a := addr(to)
		ev.Accounts = append(ev.Accounts, EvidenceAccount{Address: a.String(), Member: toM, Role: "to", Asset: asset, Amount: &amount})
	}
	return ev
}

// holderWant is an account of the owner in the block-end evidence.
func holderWant(k ed25519.PrivateKey, member, asset string, before, after int64) EvidenceAccount {
	return EvidenceAccount{Address: addr(k).String(), Member: member, Role: "holder", Asset: asset, Before: &before, After: &after}
}

// hexOf is an account's address as the notes write it.
func hexOf(k ed25519.PrivateKey) string { return addr(k).String() }

// TestHoldEvidence has one owner, with accounts at HTSC, GTJA and CMCI, cross a holding
// threshold through movements into two of them in one block: the violation belongs to the
// members whose accounts' holdings changed, names the first mover's member, lists each
// movement with its transaction and both sides, and the block end with each holding account
// before and after; the member filter finds it under each of its members and not under the
// member of the unchanged account.
func TestHoldEvidence(t *testing.T) {
	const stock = "600950"
	start := time.Date(2026, 11, 2, 10, 0, 0, 0, shanghai)
	cases := []struct {
		name  string
		build func(o *holdOwner) holdWant
	}{
		{"HOLD-5 through transfers into two accounts", func(o *holdOwner) holdWant {
			b := o.b
			b.issue(stock, "SZFE", o.big, 1_000_000)
			b.block(time.Second, o.send(o.big, o.ht, stock, 15_000), o.send(o.big, o.gt, stock, 29_900), o.send(o.big, o.cm, stock, 5_000))
			t1, t2 := o.send(o.big, o.gt, stock, 1_000), o.send(o.big, o.ht, stock, 1_100)
			o.cross(t1, t2)
			h := o.crossHeight
			return holdWant{RuleHold5, "GTJA", []string{"GTJA", "HTSC"},
				"owner's holding of 600950 crossed 5% of supply upward: 4.99% to 5.20% (52,000 of 1,000,000)",
				[]Evidence{
					o.moveWant(t1, fmt.Sprintf("transfer of 1,000 600950 from %s to %s", hexOf(o.big), hexOf(o.gt)), stock, 1_000, o.big, o.gt, "PAFG", "GTJA"),
					o.moveWant(t2, fmt.Sprintf("transfer of 1,100 600950 from %s to %s", hexOf(o.big), hexOf(o.ht)), stock, 1_100, o.big, o.ht, "PAFG", "HTSC"),
					{Height: h, Note: fmt.Sprintf("owner's holding 52,000 600950 of supply 1,000,000 (5.20%%) at the end of block %d, from 49,900 (4.99%%) at the end of block %d", h, h-1),
						Accounts: []EvidenceAccount{
							holderWant(o.gt, "GTJA", stock, 29_900, 30_900),
							holderWant(o.ht, "HTSC", stock, 15_000, 16_100),
							holderWant(o.cm, "CMCI", stock, 5_000, 5_000),
						}},
				}}
		}},
		{"HOLD-1 through a DvP delivery and a transfer out", func(o *holdOwner) holdWant {
			b := o.b
			var res uint64
			b.fund(o.ht, 1_000_00, &res)
			b.issue(stock, "SZFE", o.big, 1_000_000)
			// 5.50%: the base.
			b.block(time.Second, o.send(o.big, o.ht, stock, 30_000), o.send(o.big, o.gt, stock, 25_000))
			dvp := b.sign(&ledger.SettleDvP{Venue: "SZFE", Seller: addr(o.big), Buyer: addr(o.ht), Asset: stock, Quantity: 12_000,
				Cash: 500_00, TradeRef: "H1"}, memberKey("SZFE"))
			out := o.send(o.gt, o.big, stock, 1_000)
			o.cross(dvp, out)
			h := o.crossHeight
			return holdWant{RuleHold1, "HTSC", []string{"GTJA", "HTSC"},
				"owner's holding of 600950, above 5% of supply, rose by 11,000 (1.10% of supply) from its base of 55,000 to 66,000 of 1,000,000 (6.60%)",
				[]Evidence{
					o.moveWant(dvp, fmt.Sprintf("DvP delivery of 12,000 600950 from %s to %s", hexOf(o.big), hexOf(o.ht)), stock, 12_000, o.big, o.ht, "PAFG", "HTSC"),
					o.moveWant(out, fmt.Sprintf("transfer of 1,000 600950 from %s to %s", hexOf(o.gt), hexOf(o.big)), stock, 1_000, o.gt, o.big, "GTJA", "PAFG"),
					{Height: h, Note: fmt.Sprintf("owner's holding 66,000 600950 of supply 1,000,000 (6.60%%) at the end of block %d, from 55,000 (5.50%%) at the end of block %d", h, h-1),
						Accounts: []EvidenceAccount{
							holderWant(o.ht, "HTSC", stock, 30_000, 42_000),
							holderWant(o.gt, "GTJA", stock, 25_000, 24_000),
						}},
				}}
		}},
		{"POS-LIM through a mint and a transfer", func(o *holdOwner) holdWant {
			const future = "IF2612"
			b := o.b
			b.block(time.Second,
				b.sign(&ledger.IssueAsset{Symbol: future, Name: "Index future", Class: ledger.ClassSecurity, Kind: ledger.SecurityFuture, Venue: "TJCE", PositionLimit: 500}, memberKey("TJCE")),
				b.sign(&ledger.Mint{Asset: future, To: addr(o.big), Amount: 100_000}, memberKey("TJCE")))
			mint := b.sign(&ledger.Mint{Asset: future, To: addr(o.gt), Amount: 300}, memberKey("TJCE"))
			tr := o.send(o.big, o.ht, future, 201)
			o.cross(mint, tr)
			h := o.crossHeight
			return holdWant{RulePosLim, "GTJA", []string{"GTJA", "HTSC"},
				"owner's open position in IF2612 is 501 lots, above the limit of 500 lots",
				[]Evidence{
					o.moveWant(mint, fmt.Sprintf("mint of 300 IF2612 to %s", hexOf(o.gt)), future, 300, nil, o.gt, "", "GTJA"),
					o.moveWant(tr, fmt.Sprintf("transfer of 201 IF2612 from %s to %s", hexOf(o.big), hexOf(o.ht)), future, 201, o.big, o.ht, "PAFG", "HTSC"),
					{Height: h, Note: fmt.Sprintf("owner's holding 501 IF2612 of supply 100,300 (0.49%%) at the end of block %d, from 0 of supply 100,000 (0.00%%) at the end of block %d", h, h-1),
						Accounts: []EvidenceAccount{
							holderWant(o.gt, "GTJA", future, 0, 300),
							holderWant(o.ht, "HTSC", future, 0, 201),
						}},
				}}
		}},
		// A lock moves nothing but writes the account's balance row, and a mint to another
		// dilutes the owner below 5%: no movement and no change of its own, so the members
		// are those of its holding accounts.
		{"HOLD-5 through the supply alone", func(o *holdOwner) holdWant {
			b := o.b
			buyer := b.account(ledger.KindIndividual, "")
			b.issue(stock, "SZFE", o.big, 1_000_000)
			b.block(time.Second, o.send(o.big, o.ht, stock, 30_000), o.send(o.big, o.gt, stock, 30_000))
			o.cross(b.sign(&ledger.Mint{Asset: stock, To: addr(o.big), Amount: 300_000}, memberKey("PAFG")),
				b.sign(&ledger.LockForSettlement{Buyer: addr(buyer), Asset: stock, Quantity: 100, Gateway: "UPGW",
					FiatAmount: 1_000_00, Deadline: b.now.Unix() + 3600, Ref: "OTC-H"}, o.gt))
			h := o.crossHeight
			holders := []EvidenceAccount{holderWant(o.ht, "HTSC", stock, 30_000, 30_000), holderWant(o.gt, "GTJA", stock, 30_000, 30_000)}
			slices.SortFunc(holders, func(x, y EvidenceAccount) int { return strings.Compare(x.Address, y.Address) })
			return holdWant{RuleHold5, "GTJA", []string{"GTJA", "HTSC"},
				"owner's holding of 600950 crossed 5% of supply downward: 6.00% to 4.61% (60,000 of 1,300,000)",
				[]Evidence{
					{Height: h, Note: fmt.Sprintf("owner's holding 60,000 600950 of supply 1,300,000 (4.61%%) at the end of block %d, from 60,000 of supply 1,000,000 (6.00%%) at the end of block %d", h, h-1),
						Accounts: holders},
				}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder(t, start)
			o := newHoldOwner(b)
			want := tc.build(o)
			db := pgtest.New(t)
			syncAll(t, b.c, db)
			runAll(t, db, 3)
			var v *store.Violation
			for _, x := range allViolations(t, db) {
				if x.RuleID == want.rule && x.Subject == o.owner && x.Height == o.crossHeight {
					v = &x
				}
			}
			if v == nil {
				t.Fatalf("no %s violation of the owner at %d", want.rule, o.crossHeight)
			}
			checkHoldViolation(t, db, v, want)
		})
	}
}

// checkHoldViolation compares a violation with what the case wants, and looks it up under
// each of its members and under CMCI, whose account held the asset without a change.
func checkHoldViolation(t *testing.T, db *store.DB, v *store.Violation, want holdWant) {
	t.Helper()
	if v.Member != want.member {
		t.Errorf("member %q, want %q", v.Member, want.member)
	}
	if !slices.Equal([]string(v.Members), want.members) {
		t.Errorf("members %v, want %v", v.Members, want.members)
	}
	if v.Summary != want.summary {
		t.Errorf("summary\n %q\nwant\n %q", v.Summary, want.summary)
	}
	var got []Evidence
	if err := json.Unmarshal(v.Evidence, &got); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i].Time = time.Time{}
	}
	if !reflect.DeepEqual(got, want.evidence) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want.evidence, "", "  ")
		t.Errorf("evidence\n%s\nwant\n%s", g, w)
	}
	for _, m := range append(slices.Clone(want.members), "CMCI") {
		vs, err := db.Violations(context.Background(), store.ViolationFilter{RuleID: want.rule, Member: m, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		found := slices.ContainsFunc(vs, func(x store.Violation) bool { return x.ID == v.ID })
		if found != slices.Contains(want.members, m) {
			t.Errorf("listed under %s: %v, want %v", m, found, !found)
		}
	}
}

// TestHoldText checks the amounts and shares the holding rules write.
func TestHoldText(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{holdUnits(0, 0), "0"},
		{holdUnits(999, 0), "999"},
		{holdUnits(1_000, 0), "1,000"},
		{holdUnits(52_000, 0), "52,000"},
		{holdUnits(1_000_000, 0), "1,000,000"},
		{holdUnits(-11_000, 0), "-11,000"},
		{holdUnits(1_250_500, 3), "1,250.500"},
		{holdUnits(5, 2), "0.05"},
		{bpPercent(520), "5.20%"},
		{bpPercent(499), "4.99%"},
		{bpPercent(0), "0.00%"},
		{bpPercent(10_000), "100.00%"},
		{stepPercent(500), "5%"},
		{stepPercent(250), "2.5%"},
		{stepPercent(125), "1.25%"},
		{stepPercent(1), "0.01%"},
		{hold5Summary(securityAsset{symbol: "600950"}, holdPoint{before: 49_900, after: 101_000, supply: 1_000_000, prevSupply: 1_000_000}, 500, 0, 2),
			"owner's holding of 600950 crossed 5% and 10% of supply upward: 4.99% to 10.10% (101,000 of 1,000,000)"},
		{hold5Summary(securityAsset{symbol: "600950"}, holdPoint{before: 160_000, after: 0, supply: 1_000_000, prevSupply: 1_000_000}, 500, 3, 0),
			"owner's holding of 600950 crossed 15%, 10% and 5% of supply downward: 16.00% to 0.00% (0 of 1,000,000)"},
		{hold5Summary(securityAsset{symbol: "600950"}, holdPoint{before: 0, after: 1_000_000, supply: 1_000_000, prevSupply: 0}, 500, 0, 20),
			"owner's holding of 600950 crossed 20 multiples of 5%, 5% to 100%, of supply upward: 0.00% to 100.00% (1,000,000 of 1,000,000)"},
		{hold1Summary(securityAsset{symbol: "600950"}, holdPoint{after: 58_000, supply: 1_000_000}, 70_000, 500),
			"owner's holding of 600950, above 5% of supply, fell by 12,000 (1.20% of supply) from its base of 70,000 to 58,000 of 1,000,000 (5.80%)"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
