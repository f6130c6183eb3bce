package compliance

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"strings"
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
	// beforeRules, when set, runs on the synced database before the rules: a watch list
	// upload, or rows crafted to show what the ledger itself never writes.
	beforeRules func(db *store.DB)
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
	b.expect(step, ledger.CodeOK, txs...)
}

// expect is block for transactions that must all end with code: refused attempts are
// committed and on the record like any other transaction.
func (b *builder) expect(step time.Duration, code ledger.Code, txs ...[]byte) {
	b.t.Helper()
	resp := b.c.execRaw(b.now, txs)
	for i, r := range resp.TxResults {
		if ledger.Code(r.Code) != code {
			b.t.Fatalf("block %d tx %d: code %d %s, want %s", b.c.Height(), i, r.Code, r.Log, code)
		}
	}
	b.now = b.now.Add(step)
}

// account registers a fresh account of a kind at HTSC, with its own owner unless owner is set.
func (b *builder) account(kind ledger.AccountKind, owner string) ed25519.PrivateKey {
	return b.accountAt("HTSC", kind, owner)
}

// accountAt is account, sponsored by member.
func (b *builder) accountAt(member string, kind ledger.AccountKind, owner string) ed25519.PrivateKey {
	b.n++
	k := demoKey(fmt.Sprintf("boundary/%d", b.n))
	if owner == "" {
		owner = fmt.Sprintf("owner/%d", b.n)
	}
	b.block(time.Second, b.sign(&ledger.RegisterAccount{PubKey: ledger.PubKeyOf(k), Kind: kind,
		OwnerRef: sha256.Sum256([]byte(owner)), Venues: []string{"SZFE"}}, memberKey(member)))
	return k
}

// fund attests a reserve raised by amount and mints amount of coin to k.
func (b *builder) fund(k ed25519.PrivateKey, amount uint64, reserve *uint64) {
	*reserve += amount
	b.block(time.Second,
		b.sign(&ledger.AttestReserves{Amount: *reserve, AsOf: b.now.Unix() - 3600, Report: sha256.Sum256([]byte("r"))}, memberKey("BOCS")),
		b.sign(&ledger.Mint{Asset: ledger.CoinSymbol, To: addr(k), Amount: amount}, memberKey("BOCS")))
}

// violations syncs the chain, calls beforeRules if set, runs the rules and returns every
// violation.
func (b *builder) violations() []store.Violation {
	b.t.Helper()
	_, vs := b.run()
	return vs
}

// run is violations, with the database they are in.
func (b *builder) run() (*store.DB, []store.Violation) {
	b.t.Helper()
	db := pgtest.New(b.t)
	syncAll(b.t, b.c, db)
	if b.beforeRules != nil {
		b.beforeRules(db)
	}
	runAll(b.t, db, 3)
	return db, allViolations(b.t, db)
}

// flagged syncs the chain, runs the rules and returns the violations of one rule.
func (b *builder) flagged(rule, subject string) []string {
	b.t.Helper()
	var out []string
	for _, v := range b.violations() {
		if v.RuleID == rule && (subject == "" || v.Subject == subject) {
			out = append(out, v.Subject+" "+v.Summary)
		}
	}
	return out
}

// boundaryStart is when the boundary cases begin: a Monday, in session.
var boundaryStart = time.Date(2026, 11, 2, 10, 0, 0, 0, shanghai)

// boundaryCase builds, for one threshold of a rule, the case exactly at it (at) or one unit
// short of it.
type boundaryCase struct {
	rule string
	// aspect names which threshold of the rule the case is about, when it has several.
	aspect string
	// subject, when set, is the one subject the case is about (others, such as an
	// issuer holding the whole supply, may trip the rule on their own).
	subject string
	build   func(b *builder, at bool)
}

// name is the case's subtest name.
func (tc boundaryCase) name(at bool) string {
	name := tc.rule
	if tc.aspect != "" {
		name += "/" + tc.aspect
	}
	if at {
		return name + "/at_threshold"
	}
	return name + "/one_unit_short"
}

// boundaryCases are the cases of every rule at its thresholds.
func boundaryCases() []boundaryCase {
	const tInd = defaultLVIndividual
	holder := ownerHex(hashOf("h"))
	return []boundaryCase{
		{RuleLVInd, "", "", func(b *builder, at bool) {
			var res uint64
			a := b.account(ledger.KindIndividual, "")
			b.fund(a, tInd-1+boolU(at), &res) // the day's sum: exactly T, or T-1
		}},
		{RuleLVInst, "", "", func(b *builder, at bool) {
			var res uint64
			a := b.account(ledger.KindInstitution, "")
			b.fund(a, defaultLVInstitution/2, &res)
			to := b.account(ledger.KindInstitution, "")
			// Debits count with credits: T/2 received and T/2 (or one fen less) paid.
			b.block(time.Second, b.sign(&ledger.Transfer{To: addr(to), Asset: ledger.CoinSymbol, Amount: defaultLVInstitution/2 - 1 + boolU(at)}, a))
		}},
		{RuleStruct, "", "", func(b *builder, at bool) {
			var res uint64
			a := b.account(ledger.KindIndividual, "s")
			b.fund(a, 4*tInd, &res)
			amt := uint64(tInd*9/10) - 1 + boolU(at) // exactly 0.9·T is in the band
			for range 3 {
				to := b.account(ledger.KindIndividual, "")
				b.block(time.Minute, b.sign(&ledger.Transfer{To: addr(to), Asset: ledger.CoinSymbol, Amount: amt}, a))
			}
		}},
		{RuleRapid, "", "", func(b *builder, at bool) {
			var res uint64
			a := b.account(ledger.KindIndividual, "")
			b.fund(a, 1_000_00, &res)
			to := b.account(ledger.KindIndividual, "")
			b.block(time.Second, b.sign(&ledger.Transfer{To: addr(to), Asset: ledger.CoinSymbol, Amount: 900_00 - 1 + boolU(at)}, a))
		}},
		{RuleReserve, "", "", func(b *builder, at bool) {
			a := b.account(ledger.KindIndividual, "")
			b.block(time.Second,
				b.sign(&ledger.AttestReserves{Amount: 1_000_00, AsOf: b.now.Unix(), Report: sha256.Sum256([]byte("r"))}, memberKey("BOCS")),
				b.sign(&ledger.Mint{Asset: ledger.CoinSymbol, To: addr(a), Amount: 1_000_00 + boolU(at)}, memberKey("BOCS")))
		}},
		{RuleAttestAge, "", "", func(b *builder, at bool) {
			// Older than the limit trips it: 31 days and a second after the attestation, or exactly 31 days.
			b.block(31*24*time.Hour+time.Duration(boolU(at))*time.Second,
				b.sign(&ledger.AttestReserves{Amount: 1, AsOf: b.now.Unix(), Report: sha256.Sum256([]byte("r"))}, memberKey("BOCS")))
			b.block(time.Second)
		}},
		{RuleHold5, "", holder, func(b *builder, at bool) {
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
		{RulePosLim, "", ownerHex(hashOf("p")), func(b *builder, at bool) {
			big := b.account(ledger.KindInstitution, "")
			a := b.account(ledger.KindIndividual, "p")
			b.block(time.Second,
				b.sign(&ledger.IssueAsset{Symbol: "IF2612", Name: "Index future", Class: ledger.ClassSecurity, Kind: ledger.SecurityFuture, Venue: "TJCE", PositionLimit: 500}, memberKey("TJCE")),
				b.sign(&ledger.Mint{Asset: "IF2612", To: addr(big), Amount: 100_000}, memberKey("TJCE")))
			// Above the limit trips it: 501 lots, or exactly the limit.
			b.block(time.Second, b.sign(&ledger.Transfer{To: addr(a), Asset: "IF2612", Amount: 500 + boolU(at)}, big))
		}},
		{RuleSession, "", "", func(b *builder, at bool) {
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
		{RuleHold1, "", holder, func(b *builder, at bool) {
			big := b.account(ledger.KindInstitution, "")
			a := b.account(ledger.KindIndividual, "h")
			b.issue("600903", "SZFE", big, 1_000_000)
			// The owner reaches 5% in one block: its holding there is the base.
			b.block(time.Second, b.sign(&ledger.Transfer{To: addr(a), Asset: "600903", Amount: 50_000}, big))
			// Then exactly 1% of the supply more than the base, or one unit less.
			b.block(time.Second, b.sign(&ledger.Transfer{To: addr(a), Asset: "600903", Amount: 10_000 - 1 + boolU(at)}, big))
		}},
		{RuleSelf, "", "", func(b *builder, at bool) {
			var res uint64
			a := b.account(ledger.KindIndividual, "self")
			owner := "" // an owner of its own
			if at {
				owner = "self"
			}
			to := b.account(ledger.KindIndividual, owner)
			b.fund(a, 1_000_00, &res)
			b.block(time.Second, b.sign(&ledger.Transfer{To: addr(to), Asset: ledger.CoinSymbol, Amount: 100_00}, a))
		}},
		// MATCHED at its defaults: Δt 5 s, size and price within 1% of the larger. Sizes of
		// 10,000 units make one unit the step just outside 1%; prices are compared as cash per
		// unit, cross-multiplied.
		{RuleMatched, "window", "", func(b *builder, at bool) {
			b.matchedPair(5*time.Second+time.Duration(1-boolU(at))*time.Second, 10_000, 100_000, 10_000, 100_000)
		}},
		{RuleMatched, "size", "", func(b *builder, at bool) {
			q := 9_900 - 1 + boolU(at)
			b.matchedPair(time.Second, 10_000, 100_000, q, 10*q)
		}},
		{RuleMatched, "price", "", func(b *builder, at bool) {
			b.matchedPair(time.Second, 10_000, 100_000, 10_000, 99_000-1+boolU(at))
		}},
		{RuleFrozen, "", "", func(b *builder, at bool) {
			var res uint64
			payer := b.account(ledger.KindIndividual, "")
			f := b.account(ledger.KindIndividual, "")
			b.fund(payer, 1_000_00, &res)
			b.block(time.Second, b.sign(&ledger.Freeze{Account: addr(f), Reason: "boundary"}, demoKey("regulator")))
			code := ledger.CodeAccountFrozen
			if !at {
				b.block(time.Second, b.sign(&ledger.Unfreeze{Account: addr(f), Reason: "boundary"}, demoKey("regulator")))
				code = ledger.CodeOK
			}
			// The regulator's freeze and unfreeze are not activity; a payment to the account is.
			b.expect(time.Second, code, b.sign(&ledger.Transfer{To: addr(f), Asset: ledger.CoinSymbol, Amount: 100_00}, payer))
		}},
		{RuleWatch, "address", "", func(b *builder, at bool) {
			var res uint64
			a := b.account(ledger.KindIndividual, "")
			b.fund(a, 1_000_00, &res)
			listed := addr(demoKey("boundary/never-registered"))
			if at {
				listed = addr(a)
			}
			b.watch(listed.String())
		}},
		{RuleWatch, "owner_ref", "", func(b *builder, at bool) {
			var res uint64
			a := b.account(ledger.KindIndividual, "w")
			b.fund(a, 1_000_00, &res)
			listed := "someone else"
			if at {
				listed = "w"
			}
			b.watch(ownerHex(hashOf(listed)))
		}},
		// SETTLE-FAIL: the ledger fails a settlement at the first block after its deadline, so a
		// confirmation one second late finds it failed; at the deadline it still confirms.
		{RuleSettleFail, "deadline", "", func(b *builder, at bool) {
			lock, deadline := b.lockSettlement(time.Minute)
			b.now = deadline.Add(time.Duration(boolU(at)) * time.Second)
			code := ledger.CodeOK
			if at {
				code = ledger.CodeSettlementClosed
			}
			b.expect(time.Second, code, b.sign(&ledger.ConfirmPayment{Settlement: ledger.TxHash(lock), PaymentRef: "UP-B"}, memberKey("UPGW")))
		}},
		{RuleSettleFail, "failed", "", func(b *builder, at bool) {
			lock, _ := b.lockSettlement(time.Hour)
			var body ledger.Body = &ledger.ConfirmPayment{Settlement: ledger.TxHash(lock), PaymentRef: "UP-B"}
			if at {
				body = &ledger.FailSettlement{Settlement: ledger.TxHash(lock), Reason: "fiat returned"}
			}
			b.block(time.Second, b.sign(body, memberKey("UPGW")))
		}},
		{RuleRapid, "left", "", func(b *builder, at bool) {
			var res uint64
			a := b.account(ledger.KindIndividual, "")
			to := b.account(ledger.KindIndividual, "")
			// One fen held from before the window leaves 10% and a fen after sending 90% on:
			// more than the 10% of the receipt that "little balance left" allows.
			if !at {
				b.fund(a, 1, &res)
				b.block(2 * time.Hour)
			}
			b.fund(a, 1_000_00, &res)
			b.block(time.Second, b.sign(&ledger.Transfer{To: addr(to), Asset: ledger.CoinSymbol, Amount: 900_00}, a))
		}},
		{RuleRapid, "window", "", func(b *builder, at bool) {
			var res uint64
			a := b.account(ledger.KindIndividual, "")
			to := b.account(ledger.KindIndividual, "")
			received := b.now
			b.fund(a, 1_000_00, &res)
			// The window includes its end: sent on exactly an hour after the receipt is inside,
			// a second later outside.
			b.now = received.Add(time.Hour + time.Duration(1-boolU(at))*time.Second)
			b.block(time.Second, b.sign(&ledger.Transfer{To: addr(to), Asset: ledger.CoinSymbol, Amount: 950_00}, a))
		}},
		// DVP-ATOM is an invariant of the ledger, which settles both legs of a DvP in one
		// transaction or neither: a normal DvP must not trip it, and only rows crafted after
		// the sync (the DvP's cash leg deleted) show a lone asset leg.
		{RuleDvPAtom, "", "", func(b *builder, at bool) {
			var res uint64
			seller := b.account(ledger.KindIndividual, "")
			buyer := b.account(ledger.KindIndividual, "")
			b.fund(buyer, 1_000_00, &res)
			b.issue("600906", "SZFE", seller, 1_000)
			b.block(time.Second, b.sign(&ledger.SettleDvP{Venue: "SZFE", Seller: addr(seller), Buyer: addr(buyer), Asset: "600906", Quantity: 10, Cash: 100, TradeRef: "B"}, memberKey("SZFE")))
			if at {
				b.beforeRules = func(db *store.DB) {
					if _, err := db.Pool.Exec(context.Background(), `DELETE FROM settlement_legs WHERE leg = 'cash'`); err != nil {
						b.t.Fatal(err)
					}
				}
			}
		}},
	}
}

// TestBoundaries builds, for each rule, the case exactly at its threshold and the case one
// unit short of it, and checks that only the first is flagged.
func TestBoundaries(t *testing.T) {
	for _, tc := range boundaryCases() {
		for _, at := range []bool{true, false} {
			t.Run(tc.name(at), func(t *testing.T) {
				b := newBuilder(t, boundaryStart)
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

// TestFrozenSubject checks that a refused venue-signed DvP names the frozen party as the
// subject, whichever side it is on, and both when both are frozen: the ledger's reason names
// only the seller, and the transactions row only the buyer.
func TestFrozenSubject(t *testing.T) {
	start := time.Date(2026, 11, 2, 10, 0, 0, 0, shanghai)
	for _, tc := range []struct {
		name                      string
		sellerFrozen, buyerFrozen bool
	}{
		{"seller", true, false},
		{"buyer", false, true},
		{"both", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder(t, start)
			var res uint64
			seller := b.account(ledger.KindIndividual, "")
			buyer := b.account(ledger.KindIndividual, "")
			b.fund(buyer, 1_000_00, &res)
			b.issue("600907", "SZFE", seller, 1_000)
			want := map[string]bool{}
			for _, f := range []struct {
				k      ed25519.PrivateKey
				frozen bool
			}{{seller, tc.sellerFrozen}, {buyer, tc.buyerFrozen}} {
				if f.frozen {
					b.block(time.Second, b.sign(&ledger.Freeze{Account: addr(f.k), Reason: "test"}, demoKey("regulator")))
					want[addr(f.k).String()] = true
				}
			}
			b.expect(time.Second, ledger.CodeAccountFrozen, b.sign(&ledger.SettleDvP{Venue: "SZFE", Seller: addr(seller), Buyer: addr(buyer),
				Asset: "600907", Quantity: 10, Cash: 100, TradeRef: "F"}, memberKey("SZFE")))
			got := map[string]bool{}
			for _, v := range b.violations() {
				if v.RuleID == RuleFrozen {
					got[v.Subject] = true
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("FROZEN subjects %v, want %v (seller %s, buyer %s)", got, want, addr(seller), addr(buyer))
			}
		})
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

// issue lists a stock at venue and mints its whole supply to holder.
func (b *builder) issue(symbol, venue string, holder ed25519.PrivateKey, supply uint64) {
	b.block(time.Second,
		b.sign(&ledger.IssueAsset{Symbol: symbol, Name: "Boundary " + symbol, Class: ledger.ClassSecurity, Kind: ledger.SecurityStock, Venue: venue}, memberKey("PAFG")),
		b.sign(&ledger.Mint{Asset: symbol, To: addr(holder), Amount: supply}, memberKey("PAFG")))
}

// matchedPair has one owner's first account buy qa units for cashA from a client and, gap
// later, its second account sell qb units for cashB to another client, both at SZFE.
func (b *builder) matchedPair(gap time.Duration, qa, cashA, qb, cashB uint64) {
	var res uint64
	seller := b.account(ledger.KindIndividual, "")
	m1 := b.account(ledger.KindIndividual, "m")
	m2 := b.account(ledger.KindIndividual, "m")
	buyer := b.account(ledger.KindIndividual, "")
	b.fund(m1, 2*cashA, &res)
	b.fund(buyer, 2*cashB, &res)
	b.issue("600904", "SZFE", seller, 2*qa)
	b.block(time.Second, b.sign(&ledger.Transfer{To: addr(m2), Asset: "600904", Amount: qb}, seller))
	b.block(gap, b.sign(&ledger.SettleDvP{Venue: "SZFE", Seller: addr(seller), Buyer: addr(m1), Asset: "600904", Quantity: qa, Cash: cashA, TradeRef: "MB"}, memberKey("SZFE")))
	b.block(time.Second, b.sign(&ledger.SettleDvP{Venue: "SZFE", Seller: addr(m2), Buyer: addr(buyer), Asset: "600904", Quantity: qb, Cash: cashB, TradeRef: "MS"}, memberKey("SZFE")))
}

// watch uploads, before the rules run, a watch list of one owner_ref or address (hex).
func (b *builder) watch(value string) {
	b.beforeRules = func(db *store.DB) {
		csv := "value,reason\n" + value + ",boundary test list\n"
		if _, _, err := UploadWatchlist(context.Background(), db, strings.NewReader(csv), "tester", "boundary"); err != nil {
			b.t.Fatal(err)
		}
	}
}

// lockSettlement has a client lock 100 units of a new stock for another through UPGW, the
// deadline ttl ahead, and returns the lock (its hash is the settlement id) and the deadline.
func (b *builder) lockSettlement(ttl time.Duration) ([]byte, time.Time) {
	seller := b.account(ledger.KindIndividual, "")
	buyer := b.account(ledger.KindIndividual, "")
	b.issue("600905", "SZFE", seller, 1_000)
	deadline := b.now.Add(ttl)
	lock := b.sign(&ledger.LockForSettlement{Buyer: addr(buyer), Asset: "600905", Quantity: 100, Gateway: "UPGW",
		FiatAmount: 1_000_00, Deadline: deadline.Unix(), Ref: "OTC-B"}, seller)
	b.block(time.Second, lock)
	return lock, deadline
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

// lvStateCase is an individual account funded with 70% of the large-value threshold on a
// trading day, its chain synced and the rules run a block at a time.
type lvStateCase struct {
	t     *testing.T
	b     *builder
	a     ed25519.PrivateKey
	db    *store.DB
	start time.Time
}

func newLVStateCase(t *testing.T, owner string) *lvStateCase {
	c := &lvStateCase{t: t, start: time.Date(2026, 11, 2, 10, 0, 0, 0, shanghai), db: pgtest.New(t)}
	c.b = newBuilder(t, c.start)
	c.a = c.b.account(ledger.KindIndividual, owner)
	var res uint64
	c.b.fund(c.a, defaultLVIndividual*7/10, &res)
	return c
}

// step syncs the new blocks and runs the rules over them, a pass a block.
func (c *lvStateCase) step() {
	syncAll(c.t, c.b.c, c.db)
	runAll(c.t, c.db, 1)
}

// pay moves a tenth of the threshold to a new account, in a block of its own.
func (c *lvStateCase) pay() {
	to := c.b.account(ledger.KindIndividual, "")
	c.b.block(time.Minute, c.b.sign(&ledger.Transfer{To: addr(to), Asset: ledger.CoinSymbol, Amount: defaultLVIndividual / 10}, c.a))
}

// violation returns the LV-IND violation of the account: its evidence's length and the
// movements it counts.
func (c *lvStateCase) violation() (evidence, movements int) {
	c.t.Helper()
	payer := addr(c.a)
	if err := c.db.Pool.QueryRow(context.Background(), `SELECT jsonb_array_length(evidence), (figures->>'movements')::int
		FROM violations WHERE rule_id = $1 AND subject = $2`, RuleLVInd, addrHex(payer[:])).Scan(&evidence, &movements); err != nil {
		c.t.Fatalf("LV-IND violation: %v", err)
	}
	return evidence, movements
}

// TestLVStateAcrossPasses crosses the large-value threshold in the fourth movement of a day,
// each movement in a pass of its own: the crossing pass starts from the day's state, and the
// violation's figures and evidence still count every movement of the day.
func TestLVStateAcrossPasses(t *testing.T) {
	c := newLVStateCase(t, "state")
	c.step()
	for range 3 {
		c.pay()
		c.step()
	}
	var state struct {
		Sum   int64 `json:"sum"`
		Count int   `json:"count"`
	}
	payer := addr(c.a)
	if err := c.db.Pool.QueryRow(context.Background(), `SELECT value FROM rule_state WHERE family = $1 AND key = $2`,
		lvFamily, lvKey(marketDay(c.start), payer[:])).Scan(&state); err != nil {
		t.Fatalf("LV state of the account: %v", err)
	}
	if want := int64(defaultLVIndividual*7/10 + 3*(defaultLVIndividual/10)); state.Count != 4 || state.Sum != want {
		t.Errorf("LV state %+v, want 4 movements of %d fen", state, want)
	}
	if evidence, movements := c.violation(); evidence != 4 || movements != 4 {
		t.Errorf("LV-IND lists %d movements as evidence and counts %d, want 4 and 4", evidence, movements)
	}
}

// TestLVStateAfterGap disables the large-value rules for one movement of the day: the
// state they kept before misses it, so the pass after they are enabled again must read the
// day from the history, and counts all four movements.
func TestLVStateAfterGap(t *testing.T) {
	c := newLVStateCase(t, "gap")
	enable := func(on bool) {
		for _, id := range []string{RuleLVInd, RuleLVInst} {
			if _, _, err := SetParams(context.Background(), c.db, id, nil, &on, "tester", "gap test"); err != nil {
				t.Fatal(err)
			}
		}
	}
	c.step()
	enable(false)
	c.pay()
	c.step()
	enable(true)
	c.pay()
	c.pay()
	c.step()
	if _, movements := c.violation(); movements != 4 {
		t.Errorf("LV-IND counts %d movements, want 4", movements)
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
