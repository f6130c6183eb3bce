package compliance

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

// builder writes hand-made blocks onto a chain, every transaction expected to succeed.
type builder struct {
	t      *testing.T
	c      *chain
	now    time.Time
	nonces map[ledger.Address]uint64
	n      int
}

func newBuilder(t *testing.T, start time.Time) *builder {
	return &builder{t: t, c: newChain(t, start), now: start, nonces: map[ledger.Address]uint64{}}
}

func demoKey(name string) ed25519.PrivateKey { return ledger.DemoKey(testDemoSeed, name) }
func memberKey(id string) ed25519.PrivateKey { return demoKey("member/" + id) }
func addr(k ed25519.PrivateKey) ledger.Address {
	return ledger.AddressOf(ledger.PubKeyOf(k))
}

func (b *builder) sign(body ledger.Body, keys ...ed25519.PrivateKey) []byte {
	s := addr(keys[0])
	b.nonces[s]++
	return (&ledger.Tx{ChainID: testChainID, Nonce: b.nonces[s], Body: body}).Sign(keys...)
}

// block commits txs at the builder's clock, then advances it by step.
func (b *builder) block(step time.Duration, txs ...[]byte) {
	b.t.Helper()
	resp := b.c.execRaw(b.now, txs)
	for i, r := range resp.TxResults {
		if r.Code != 0 {
			b.t.Fatalf("block %d tx %d: code %d %s", b.c.Height(), i, r.Code, r.Log)
		}
	}
	b.now = b.now.Add(step)
}

// account registers a fresh account of a kind at HTSC, with its own owner unless owner is set.
func (b *builder) account(kind ledger.AccountKind, owner string) ed25519.PrivateKey {
	b.n++
	k := demoKey(fmt.Sprintf("boundary/%d", b.n))
	if owner == "" {
		owner = fmt.Sprintf("owner/%d", b.n)
	}
	b.block(time.Second, b.sign(&ledger.RegisterAccount{PubKey: ledger.PubKeyOf(k), Kind: kind,
		OwnerRef: sha256.Sum256([]byte(owner)), Venues: []string{"SZFE"}}, memberKey("HTSC")))
	return k
}

// fund attests a reserve raised by amount and mints amount of coin to k.
func (b *builder) fund(k ed25519.PrivateKey, amount uint64, reserve *uint64) {
	*reserve += amount
	b.block(time.Second,
		b.sign(&ledger.AttestReserves{Amount: *reserve, AsOf: b.now.Unix() - 3600, Report: sha256.Sum256([]byte("r"))}, memberKey("BOCS")),
		b.sign(&ledger.Mint{Asset: ledger.CoinSymbol, To: addr(k), Amount: amount}, memberKey("BOCS")))
}

// flagged syncs the chain, runs the rules and returns the violations of one rule.
func (b *builder) flagged(rule, subject string) []string {
	b.t.Helper()
	db := pgtest.New(b.t)
	syncAll(b.t, b.c, db)
	runAll(b.t, db, 3)
	var out []string
	for _, v := range allViolations(b.t, db) {
		if v.RuleID == rule && (subject == "" || v.Subject == subject) {
			out = append(out, v.Subject+" "+v.Summary)
		}
	}
	return out
}

// TestBoundaries builds, for each rule, the case exactly at its threshold and the case one
// unit short of it, and checks that only the first is flagged.
func TestBoundaries(t *testing.T) {
	const tInd = defaultLVIndividual
	start := time.Date(2026, 11, 2, 10, 0, 0, 0, shanghai) // a Monday, in session
	holder := ownerHex(hashOf("h"))
	cases := []struct {
		rule string
		// subject, when set, is the one subject the case is about (others, such as an
		// issuer holding the whole supply, may trip the rule on their own).
		subject string
		build   func(b *builder, at bool)
	}{
		{RuleLVInd, "", func(b *builder, at bool) {
			var res uint64
			a := b.account(ledger.KindIndividual, "")
			b.fund(a, tInd-1+boolU(at), &res) // the day's sum: exactly T, or T-1
		}},
		{RuleLVInst, "", func(b *builder, at bool) {
			var res uint64
			a := b.account(ledger.KindInstitution, "")
			b.fund(a, defaultLVInstitution/2, &res)
			to := b.account(ledger.KindInstitution, "")
			// Debits count with credits: T/2 received and T/2 (or one fen less) paid.
			b.block(time.Second, b.sign(&ledger.Transfer{To: addr(to), Asset: ledger.CoinSymbol, Amount: defaultLVInstitution/2 - 1 + boolU(at)}, a))
		}},
		{RuleStruct, "", func(b *builder, at bool) {
			var res uint64
			a := b.account(ledger.KindIndividual, "s")
			b.fund(a, 4*tInd, &res)
			amt := uint64(tInd*9/10) - 1 + boolU(at) // exactly 0.9·T is in the band
			for range 3 {
				to := b.account(ledger.KindIndividual, "")
				b.block(time.Minute, b.sign(&ledger.Transfer{To: addr(to), Asset: ledger.CoinSymbol, Amount: amt}, a))
			}
		}},
		{RuleRapid, "", func(b *builder, at bool) {
			var res uint64
			a := b.account(ledger.KindIndividual, "")
			b.fund(a, 1_000_00, &res)
			to := b.account(ledger.KindIndividual, "")
			b.block(time.Second, b.sign(&ledger.Transfer{To: addr(to), Asset: ledger.CoinSymbol, Amount: 900_00 - 1 + boolU(at)}, a))
		}},
		{RuleReserve, "", func(b *builder, at bool) {
			a := b.account(ledger.KindIndividual, "")
			b.block(time.Second,
				b.sign(&ledger.AttestReserves{Amount: 1_000_00, AsOf: b.now.Unix(), Report: sha256.Sum256([]byte("r"))}, memberKey("BOCS")),
				b.sign(&ledger.Mint{Asset: ledger.CoinSymbol, To: addr(a), Amount: 1_000_00 + boolU(at)}, memberKey("BOCS")))
		}},
		{RuleAttestAge, "", func(b *builder, at bool) {
			// Older than the limit trips it: 31 days and a second after the attestation, or exactly 31 days.
			b.block(31*24*time.Hour+time.Duration(boolU(at))*time.Second,
				b.sign(&ledger.AttestReserves{Amount: 1, AsOf: b.now.Unix(), Report: sha256.Sum256([]byte("r"))}, memberKey("BOCS")))
			b.block(time.Second)
		}},
		{RuleHold5, holder, func(b *builder, at bool) {
			big := b.account(ledger.KindInstitution, "")
			a := b.account(ledger.KindIndividual, "h")
			a2 := b.account(ledger.KindIndividual, "h")
			b.block(time.Second,
				b.sign(&ledger.IssueAsset{Symbol: "600900", Name: "Boundary Co", Class: ledger.ClassSecurity, Kind: ledger.SecurityStock, Venue: "SZFE"}, memberKey("PAFG")),
				b.sign(&ledger.Mint{Asset: "600900", To: addr(big), Amount: 1_000_000}, memberKey("PAFG")))
			// One owner's two accounts reach exactly 5% of the supply together, or one unit less.
			b.block(time.Second,
				b.sign(&ledger.Transfer{To: addr(a), Asset: "600900", Amount: 30_000}, big),
				b.sign(&ledger.Transfer{To: addr(a2), Asset: "600900", Amount: 20_000 - 1 + boolU(at)}, big))
		}},
		{RulePosLim, ownerHex(hashOf("p")), func(b *builder, at bool) {
			big := b.account(ledger.KindInstitution, "")
			a := b.account(ledger.KindIndividual, "p")
			b.block(time.Second,
				b.sign(&ledger.IssueAsset{Symbol: "IF2612", Name: "Index future", Class: ledger.ClassSecurity, Kind: ledger.SecurityFuture, Venue: "TJCE", PositionLimit: 500}, memberKey("TJCE")),
				b.sign(&ledger.Mint{Asset: "IF2612", To: addr(big), Amount: 100_000}, memberKey("TJCE")))
			// Above the limit trips it: 501 lots, or exactly the limit.
			b.block(time.Second, b.sign(&ledger.Transfer{To: addr(a), Asset: "IF2612", Amount: 500 + boolU(at)}, big))
		}},
		{RuleSession, "", func(b *builder, at bool) {
			var res uint64
			seller := b.account(ledger.KindIndividual, "")
			buyer := b.account(ledger.KindIndividual, "")
			b.fund(buyer, 1_000_00, &res)
			b.block(time.Second,
				b.sign(&ledger.IssueAsset{Symbol: "600901", Name: "Session Co", Class: ledger.ClassSecurity, Kind: ledger.SecurityStock, Venue: "SZFE"}, memberKey("PAFG")),
				b.sign(&ledger.Mint{Asset: "600901", To: addr(seller), Amount: 1_000}, memberKey("PAFG")))
			// The afternoon session is [13:00, 15:00): 15:00 is outside, 14:59:59 inside.
			b.now = time.Date(2026, 11, 2, 15, 0, 0, 0, shanghai).Add(-time.Second + time.Duration(boolU(at))*time.Second)
			b.block(time.Second, b.sign(&ledger.SettleDvP{Venue: "SZFE", Seller: addr(seller), Buyer: addr(buyer), Asset: "600901", Quantity: 10, Cash: 100, TradeRef: "B"}, memberKey("SZFE")))
		}},
	}
	for _, tc := range cases {
		for _, at := range []bool{true, false} {
			name := tc.rule + "/at_threshold"
			if !at {
				name = tc.rule + "/one_unit_short"
			}
			t.Run(name, func(t *testing.T) {
				b := newBuilder(t, start)
				tc.build(b, at)
				got := b.flagged(tc.rule, tc.subject)
				if at && len(got) == 0 {
					t.Errorf("at the threshold: no violation")
				}
				if !at && len(got) != 0 {
					t.Errorf("one unit short: flagged %v", got)
				}
			})
		}
	}
}

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func boolU(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// TestRestartMidWindow stops the rules between two payments of one structuring window and
// one large-value day, then resumes: the window's violation is complete, and no block is
// evaluated twice or skipped.
func TestRestartMidWindow(t *testing.T) {
	start := time.Date(2026, 11, 2, 10, 0, 0, 0, shanghai)
	b := newBuilder(t, start)
	var res uint64
	a := b.account(ledger.KindIndividual, "restart")
	b.fund(a, 4*defaultLVIndividual, &res)
	db := pgtest.New(t)
	pay := func() {
		to := b.account(ledger.KindIndividual, "")
		b.block(time.Minute, b.sign(&ledger.Transfer{To: addr(to), Asset: ledger.CoinSymbol, Amount: defaultLVIndividual * 95 / 100}, a))
	}
	pay()
	pay()
	syncAll(t, b.c, db)
	runAll(t, db, 1) // a runner that stops here, two payments into the window
	if n := countRule(t, db, RuleStruct); n != 0 {
		t.Fatalf("two payments: %d STRUCT violations", n)
	}
	pay()
	pay()
	syncAll(t, b.c, db)
	runAll(t, db, 1) // a new runner, resuming from the stored cursor
	if n := countRule(t, db, RuleStruct); n != 1 {
		t.Fatalf("after the restart: %d STRUCT violations, want 1", n)
	}
	var evidence int
	if err := db.Pool.QueryRow(context.Background(), `SELECT jsonb_array_length(evidence) FROM violations WHERE rule_id = $1`, RuleStruct).Scan(&evidence); err != nil {
		t.Fatal(err)
	}
	if evidence != 4 {
		t.Errorf("STRUCT evidence lists %d payments, want 4", evidence)
	}
	if n := countRule(t, db, RuleLVInd); n != 1 {
		t.Errorf("LV-IND: %d violations, want 1 for the day", n)
	}
	cc, err := db.GetComplianceCursor(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cc.Height != b.c.Height() {
		t.Errorf("rules cursor at %d, chain at %d", cc.Height, b.c.Height())
	}
}

func countRule(t testing.TB, db *store.DB, rule string) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM violations WHERE rule_id = $1", rule).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
