package ledger

import (
	"crypto/ed25519"
	abci "github.com/cometbft/cometbft/abci/types"
	"strings"
	"testing"
	"time"
)

func TestHappyPath(t *testing.T) {
	c := newChain(t)
	alice := c.party("alice", "A", "SZFE")
	bob := c.party("bob", "B", "SZFE")
	a, b := addr("alice"), addr("bob")
	c.fund(b, 1_000_000)
	c.stock("600001", a, 5_000)

	// Transfer.
	c.must(&Transfer{To: b, Asset: "600001", Amount: 1_000}, alice)
	if got := c.balance(b, "600001").Amount; got != 1_000 {
		t.Fatalf("bob holds %d, want 1000", got)
	}

	// DvP signed by both parties, then by the venue on their standing authorisation.
	c.must(&SettleDvP{Venue: "SZFE", Seller: a, Buyer: b, Asset: "600001", Quantity: 100, Cash: 10_000, TradeRef: "T1"}, alice, bob)
	c.must(&SettleDvP{Venue: "SZFE", Seller: a, Buyer: b, Asset: "600001", Quantity: 100, Cash: 10_000, TradeRef: "T2"}, member("SZFE"))
	if got := c.balance(a, CoinSymbol).Amount; got != 20_000 {
		t.Fatalf("alice has %d coin, want 20000", got)
	}

	// Gateway settlement: lock, confirm.
	r := c.must(&LockForSettlement{Buyer: b, Asset: "600001", Quantity: 300, Gateway: "UPGW", FiatAmount: 30_000, Deadline: c.time.Add(time.Hour).Unix()}, alice)
	id := settlementID(t, r)
	if got := c.balance(a, "600001"); got.Locked != 300 {
		t.Fatalf("locked %d, want 300", got.Locked)
	}
	c.must(&ConfirmPayment{Settlement: id, PaymentRef: "P1"}, member("UPGW"))
	if got := c.balance(a, "600001"); got.Locked != 0 || got.Amount != 5_000-1_000-200-300 {
		t.Fatalf("alice after confirm: %+v", got)
	}

	// Gateway settlement failed by the gateway, and one expiring on its own.
	r = c.must(&LockForSettlement{Buyer: b, Asset: "600001", Quantity: 50, Gateway: "UPGW", FiatAmount: 5_000, Deadline: c.time.Add(time.Hour).Unix()}, alice)
	c.must(&FailSettlement{Settlement: settlementID(t, r), Reason: "no funds"}, member("UPGW"))
	r = c.must(&LockForSettlement{Buyer: b, Asset: "600001", Quantity: 60, Gateway: "UPGW", FiatAmount: 6_000, Deadline: c.time.Add(10 * time.Second).Unix()}, alice)
	late := settlementID(t, r)
	resp := c.blockAt(time.Minute)
	evs, err := ParseEvents(resp.Events)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 {
		t.Fatal("no expiry events in the block past the deadline")
	}
	var se *Settlement
	c.app.View(func(st *State) { se, err = st.Settlement(late) })
	if err != nil {
		t.Fatal(err)
	}
	if se.State != SettlementFailed {
		t.Fatalf("settlement past deadline is %s, want failed", se.State)
	}

	// Mint, burn, reserves, freeze, unfreeze.
	c.must(&AttestReserves{Amount: 2_000_000, AsOf: c.time.Unix(), Report: ownerRef("report")}, member("BOCS"))
	c.fund(addr("member/BOCS"), 500)
	c.must(&Burn{Asset: CoinSymbol, Amount: 500}, member("BOCS"))
	c.must(&Freeze{Account: b, Reason: "investigation"}, key("regulator"))
	if r := c.exec(c.sign(&Transfer{To: a, Asset: CoinSymbol, Amount: 1}, bob)); Code(r.Code) != CodeSignerFrozen {
		t.Fatalf("frozen transfer: %s", Code(r.Code))
	}
	c.must(&Unfreeze{Account: b, Reason: "cleared"}, key("regulator"))
	c.must(&Transfer{To: a, Asset: CoinSymbol, Amount: 1}, bob)
	c.must(&Freeze{Asset: "600001", Reason: "suspended"}, key("regulator"))
	c.must(&Unfreeze{Asset: "600001", Reason: "resumed"}, key("regulator"))

	// Other asset classes.
	c.must(&IssueAsset{Symbol: "CU-2612", Name: "Copper cathode receipt", Class: ClassCommodity, Commodity: "copper", Grade: "A", Warehouse: "CMWH", Unit: "tonne"}, member("CMWH"))
	c.must(&IssueAsset{Symbol: "IF2612", Name: "CSI 300 Dec", Class: ClassSecurity, Kind: SecurityFuture, Venue: "TJCE", PositionLimit: 1_000}, member("TJCE"))
	c.must(&IssueAsset{Symbol: "PTS", Name: "Loyalty points", Class: ClassLoyalty}, member("HTSC"))
	c.must(&IssueAsset{Symbol: "RGT1", Name: "Subscription right", Class: ClassRight}, member("CMCI"))
}

func settlementID(t *testing.T, r *abci.ExecTxResult) Hash {
	t.Helper()
	evs, err := TxEvents(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if s, ok := ev.(*SettlementEvent); ok {
			return s.ID
		}
	}
	t.Fatal("no settlement event")
	return Hash{}
}

// TestRejections walks every rejection code from a state set up once: each case signs one tx
// and expects its code and a word of its message.
func TestRejections(t *testing.T) {
	c := newChain(t)
	alice := c.party("alice", "A", "SZFE")
	bob := c.party("bob", "B")
	a, b := addr("alice"), addr("bob")
	c.fund(a, 1_000)
	c.stock("600001", a, 100)
	frozen := c.party("frozen", "F")
	c.must(&Freeze{Account: addr("frozen"), Reason: "x"}, key("regulator"))
	c.must(&IssueAsset{Symbol: "ICE", Name: "Frozen asset", Class: ClassRight}, member("PAFG"))
	c.must(&Mint{Asset: "ICE", To: a, Amount: 10}, member("PAFG"))
	c.must(&Freeze{Asset: "ICE", Reason: "x"}, key("regulator"))
	lock := c.must(&LockForSettlement{Buyer: b, Asset: "600001", Quantity: 10, Gateway: "UPGW", FiatAmount: 1, Deadline: c.time.Add(time.Hour).Unix()}, alice)
	open := settlementID(t, lock)
	done := c.must(&LockForSettlement{Buyer: b, Asset: "600001", Quantity: 10, Gateway: "UPGW", FiatAmount: 1, Deadline: c.time.Add(time.Hour).Unix()}, alice)
	closed := settlementID(t, done)
	c.must(&FailSettlement{Settlement: closed}, member("UPGW"))
	expiring := c.must(&LockForSettlement{Buyer: b, Asset: "600001", Quantity: 10, Gateway: "UPGW", FiatAmount: 1, Deadline: c.time.Add(2 * time.Second).Unix()}, alice)
	expiringID := settlementID(t, expiring)
	stranger := key("stranger")

	signed := func(body Body, keys ...ed25519.PrivateKey) func() []byte {
		return func() []byte { return c.sign(body, keys...) }
	}
	cases := []struct {
		name string
		tx   func() []byte
		code Code
		msg  string
	}{
		{"garbage", func() []byte { return []byte{1, 2, 3} }, CodeMalformed, "malformed"},
		{"wrong chain", func() []byte {
			tx := &Tx{ChainID: "other", Nonce: 1, Body: &Transfer{To: b, Asset: CoinSymbol, Amount: 1}}
			return tx.Sign(alice)
		}, CodeWrongChain, "other"},
		{"bad signature", func() []byte {
			raw := c.sign(&Transfer{To: b, Asset: CoinSymbol, Amount: 1}, alice)
			raw[len(raw)-1] ^= 1
			c.nonces[a]--
			return raw
		}, CodeBadSignature, "signature"},
		{"unknown signer", signed(&Transfer{To: b, Asset: CoinSymbol, Amount: 1}, stranger), CodeUnknownSigner, "no account"},
		{"replayed nonce", func() []byte {
			tx := &Tx{ChainID: testChainID, Nonce: 1, Body: &Transfer{To: b, Asset: CoinSymbol, Amount: 1}}
			return tx.Sign(alice)
		}, CodeBadNonce, "expects"},
		{"zero amount", signed(&Transfer{To: b, Asset: CoinSymbol}, alice), CodeInvalidField, "positive"},
		{"frozen signer", signed(&Transfer{To: b, Asset: CoinSymbol, Amount: 1}, frozen), CodeSignerFrozen, "frozen"},
		{"mint by non-issuer", signed(&Mint{Asset: CoinSymbol, To: a, Amount: 1}, member("PAFG")), CodeUnauthorized, "BOCS"},
		{"register by non-member", signed(&RegisterAccount{PubKey: PubKeyOf(key("x")), Kind: KindIndividual, OwnerRef: ownerRef("x")}, alice), CodeUnauthorized, "operator"},
		{"freeze by non-regulator", signed(&Freeze{Account: b}, member("SZFE")), CodeUnauthorized, "regulator"},
		{"one-sided dvp", signed(&SettleDvP{Venue: "SZFE", Seller: a, Buyer: b, Asset: "600001", Quantity: 1, Cash: 1}, alice), CodeMissingCosigner, "both"},
		{"venue without authorisation", signed(&SettleDvP{Venue: "SZFE", Seller: a, Buyer: b, Asset: "600001", Quantity: 1, Cash: 1}, member("SZFE")), CodeUnauthorized, "authorised"},
		{"account exists", signed(&RegisterAccount{PubKey: PubKeyOf(bob), Kind: KindIndividual, OwnerRef: ownerRef("B")}, member("HTSC")), CodeAccountExists, "exists"},
		{"recipient missing", signed(&Transfer{To: addr("nobody"), Asset: CoinSymbol, Amount: 1}, alice), CodeAccountNotFound, "no account"},
		{"recipient frozen", signed(&Transfer{To: addr("frozen"), Asset: CoinSymbol, Amount: 1}, alice), CodeAccountFrozen, "frozen"},
		{"unknown venue", signed(&RegisterAccount{PubKey: PubKeyOf(key("y")), Kind: KindIndividual, OwnerRef: ownerRef("y"), Venues: []string{"HTSC"}}, member("HTSC")), CodeMemberNotFound, "exchange"},
		{"asset exists", signed(&IssueAsset{Symbol: "600001", Name: "dup", Class: ClassSecurity, Kind: SecurityStock}, member("PAFG")), CodeAssetExists, "exists"},
		{"asset missing", signed(&Transfer{To: b, Asset: "NOPE", Amount: 1}, alice), CodeAssetNotFound, "NOPE"},
		{"asset frozen", signed(&Transfer{To: b, Asset: "ICE", Amount: 1}, alice), CodeAssetFrozen, "frozen"},
		{"insufficient", signed(&Transfer{To: b, Asset: CoinSymbol, Amount: 1_001}, alice), CodeInsufficientFunds, "available, needs 10.01 CNYS"},
		{"locked is not available", signed(&Transfer{To: b, Asset: "600001", Amount: 91}, alice), CodeInsufficientFunds, "available"},
		{"overflow", signed(&Mint{Asset: "600001", To: a, Amount: MaxAmount}, member("PAFG")), CodeOverflow, "exceed"},
		{"settlement missing", signed(&ConfirmPayment{Settlement: ownerRef("none")}, member("UPGW")), CodeSettlementNotFound, "no settlement"},
		{"settlement closed", signed(&ConfirmPayment{Settlement: closed}, member("UPGW")), CodeSettlementClosed, "failed"},
		{"confirm by other gateway", signed(&ConfirmPayment{Settlement: open}, member("HTSC")), CodeUnauthorized, "UPGW"},
		{"deadline in the past", signed(&LockForSettlement{Buyer: b, Asset: "600001", Quantity: 1, Gateway: "UPGW", FiatAmount: 1, Deadline: 1}, alice), CodeDeadlinePassed, "deadline"},
		{"self transfer", signed(&Transfer{To: a, Asset: CoinSymbol, Amount: 1}, alice), CodeSameAccount, "oneself"},
		{"freeze twice", signed(&Freeze{Account: addr("frozen")}, key("regulator")), CodeAlreadyInState, "already"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.exec(tc.tx())
			if Code(r.Code) != tc.code {
				t.Fatalf("code %d (%s) %q, want %s", r.Code, Code(r.Code), r.Log, tc.code)
			}
			if !strings.Contains(r.Log, tc.msg) {
				t.Fatalf("message %q lacks %q", r.Log, tc.msg)
			}
		})
	}
	// Past its deadline a settlement can no longer be confirmed: the block fails it first.
	c.blockAt(time.Minute)
	if r := c.exec(c.sign(&ConfirmPayment{Settlement: expiringID}, member("UPGW"))); Code(r.Code) != CodeSettlementClosed {
		t.Fatalf("confirm after deadline: %s %s", Code(r.Code), r.Log)
	}
}

// TestEveryCodeCovered keeps the rejection table honest as codes are added.
func TestEveryCodeCovered(t *testing.T) {
	for c := CodeOK; c <= CodeAlreadyInState; c++ {
		if strings.HasPrefix(c.String(), "code(") {
			t.Errorf("code %d has no name", c)
		}
	}
}
