package ledger

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// sampleBodies has one filled body of every type.
func sampleBodies() []Body {
	a, b := addr("alice"), addr("bob")
	return []Body{
		&RegisterAccount{PubKey: PubKeyOf(key("alice")), Kind: KindIndividual, OwnerRef: ownerRef("A"), Venues: []string{"SZFE", "TJCE"}},
		&IssueAsset{Symbol: "CU-2612", Name: "Copper", Class: ClassCommodity, Commodity: "copper", Grade: "A", Warehouse: "CMWH", Unit: "tonne"},
		&Mint{Asset: CoinSymbol, To: a, Amount: 100},
		&Burn{Asset: CoinSymbol, Amount: 5},
		&AttestReserves{Amount: 1_000, AsOf: 1_700_000_000, Report: ownerRef("r")},
		&Transfer{To: b, Asset: CoinSymbol, Amount: 7},
		&SettleDvP{Venue: "SZFE", Seller: a, Buyer: b, Asset: "600001", Quantity: 3, Cash: 300, TradeRef: "T-1"},
		&LockForSettlement{Buyer: b, Asset: "600001", Quantity: 1, Gateway: "UPGW", FiatAmount: 9, Deadline: 1_700_000_100, Ref: "L"},
		&ConfirmPayment{Settlement: ownerRef("s"), PaymentRef: "P"},
		&FailSettlement{Settlement: ownerRef("s"), Reason: "late"},
		&Freeze{Account: a, Reason: "probe"},
		&Unfreeze{Asset: "600001", Reason: "resumed"},
	}
}

func TestRoundTripEveryType(t *testing.T) {
	seen := map[TxType]bool{}
	for _, body := range sampleBodies() {
		t.Run(body.Type().String(), func(t *testing.T) {
			tx := &Tx{ChainID: testChainID, Nonce: 42, Memo: "备注 memo", Body: body}
			raw := tx.Sign(key("alice"), key("bob"))
			dtx, err := DecodeTx(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(dtx.Tx, tx) {
				t.Fatalf("decoded %+v, want %+v", dtx.Tx, tx)
			}
			if !bytes.Equal(dtx.Encode(), raw) {
				t.Fatal("re-encoding differs")
			}
			if err := VerifySignatures(dtx); err != nil {
				t.Fatal(err)
			}
			if err := body.validate(); err != nil {
				t.Fatalf("sample is invalid: %v", err)
			}
		})
		seen[body.Type()] = true
	}
	for ty := TxType(1); ty < txTypeEnd; ty++ {
		if !seen[ty] {
			t.Errorf("no sample of %s", ty)
		}
		if got, err := ParseTxType(ty.String()); err != nil || got != ty {
			t.Errorf("type name %s does not parse back", ty)
		}
	}
}

func TestDecodeRejectsNonCanonical(t *testing.T) {
	good := (&Tx{ChainID: testChainID, Nonce: 1, Body: &Transfer{To: addr("bob"), Asset: CoinSymbol, Amount: 1}}).Sign(key("alice"))
	mutate := func(f func([]byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	twoSame := (&Tx{ChainID: testChainID, Nonce: 1, Body: &Transfer{To: addr("bob"), Asset: CoinSymbol, Amount: 1}}).Sign(key("alice"), key("alice"))
	cases := []struct {
		name string
		raw  []byte
	}{
		{"empty", nil},
		{"trailing byte", mutate(func(b []byte) []byte { return append(b, 0) })},
		{"truncated", good[:len(good)-1]},
		{"unknown version", mutate(func(b []byte) []byte { b[0] = 2; return b })},
		{"unknown type", mutate(func(b []byte) []byte { b[3+len(testChainID)] = 99; return b })},
		{"no signature", mutate(func(b []byte) []byte { b[len(b)-97] = 0; return b[:len(b)-96] })},
		{"three signatures", mutate(func(b []byte) []byte { b[len(b)-97] = 3; return b })},
		{"same signer twice", twoSame},
		{"invalid utf-8 chain id", mutate(func(b []byte) []byte { b[3] = 0xff; return b })},
		{"oversized", append(mutate(func(b []byte) []byte { return b }), make([]byte, MaxTxBytes)...)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeTx(tc.raw); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

// FuzzDecodeTx: any input either fails with ErrMalformed or decodes to a tx whose encoding is
// exactly the input (one byte string per tx).
func FuzzDecodeTx(f *testing.F) {
	for _, body := range sampleBodies() {
		f.Add((&Tx{ChainID: testChainID, Nonce: 1, Memo: "m", Body: body}).Sign(key("alice")))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		dtx, err := DecodeTx(raw)
		// ParseTx, the same parse without the digest, agrees with it.
		ptx, perr := ParseTx(raw)
		if (err == nil) != (perr == nil) || (err != nil && err.Error() != perr.Error()) {
			t.Fatalf("DecodeTx: %v; ParseTx: %v", err, perr)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		if !bytes.Equal(ptx.Encode(), raw) {
			t.Fatalf("ParseTx read %x as another tx", raw)
		}
		if !bytes.Equal(dtx.Encode(), raw) {
			t.Fatalf("accepted non-canonical input %x", raw)
		}
		_ = dtx.Body.validate()
	})
}

// FuzzVerifyEnvelope: flipping bits of a signed tx never yields a tx that verifies under the
// same signer with different content, and never panics.
func FuzzVerifyEnvelope(f *testing.F) {
	good := (&Tx{ChainID: testChainID, Nonce: 9, Body: &Transfer{To: addr("bob"), Asset: CoinSymbol, Amount: 5}}).Sign(key("alice"))
	f.Add(good, uint16(0), byte(1))
	f.Add(good, uint16(len(good)-1), byte(0x80))
	f.Fuzz(func(t *testing.T, raw []byte, pos uint16, flip byte) {
		if len(raw) == 0 {
			return
		}
		mut := append([]byte(nil), raw...)
		mut[int(pos)%len(mut)] ^= flip
		dtx, err := DecodeTx(mut)
		if err != nil {
			return
		}
		ok := make([]bool, 1)
		verifyBatch([]*DecodedTx{dtx}, ok)
		single := VerifySignatures(dtx) == nil
		if ok[0] != single {
			t.Fatalf("batch says %v, single says %v", ok[0], single)
		}
		if single && !bytes.Equal(mut, good) && bytes.Equal(raw, good) && flip != 0 {
			t.Fatalf("a modified tx verifies: %x", mut)
		}
	})
}
