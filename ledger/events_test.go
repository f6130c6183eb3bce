package ledger

import (
	"bytes"
	"reflect"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
)

func TestEventsRoundTrip(t *testing.T) {
	a, b := addr("alice"), addr("bob")
	evs := []Event{
		&TransferEvent{From: a, To: b, Asset: CoinSymbol, Amount: 5, Leg: "cash"},
		&BalanceEvent{Account: a, Asset: CoinSymbol, Delta: -5, Amount: 0, Locked: 0},
		&BalanceEvent{Account: b, Asset: "600001", Delta: 0, Amount: 9, Locked: 9},
		&LockEvent{Settlement: ownerRef("s"), Account: a, Asset: "600001", Amount: 9},
		&ReleaseEvent{Settlement: ownerRef("s"), Account: a, Asset: "600001", Amount: 9, Outcome: "failed"},
		&MintEvent{Asset: CoinSymbol, To: a, Amount: 7, Supply: 7},
		&BurnEvent{Asset: CoinSymbol, From: a, Amount: 7, Supply: 0},
		&FreezeEvent{Account: a, Frozen: true, Reason: "probe"},
		&FreezeEvent{Asset: "600001", Frozen: false},
		&AccountEvent{Address: a, PubKey: PubKeyOf(key("alice")), Sponsor: "HTSC", Kind: KindIndividual, OwnerRef: ownerRef("A"), Venues: []string{"SZFE", "TJCE"}},
		&AssetEvent{Asset: Asset{Symbol: "IF2612", Name: "CSI 300", Class: ClassSecurity, Kind: SecurityFuture, Issuer: "TJCE", Venue: "TJCE", PositionLimit: 10, Status: StatusActive}},
		&ReservesEvent{Amount: 100, AsOf: 1_700_000_000, Report: ownerRef("r"), Supply: 90},
		&SettlementEvent{ID: ownerRef("s"), Kind: "gateway", State: SettlementLocked, Gateway: "UPGW", Seller: a, Buyer: b, Asset: "600001", Quantity: 9, Cash: 1000, Deadline: 1_700_000_100},
	}
	got, err := ParseEvents(ToABCI(evs))
	if err != nil {
		t.Fatal(err)
	}
	evs[10].(*AssetEvent).Asset.Status = StatusActive
	bin, err := DecodeEvents(EncodeEvents(evs))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(bin, evs) {
		t.Fatal("binary round trip differs")
	}
	if !reflect.DeepEqual(got, evs) {
		for i := range evs {
			if !reflect.DeepEqual(got[i], evs[i]) {
				t.Errorf("event %d: got %+v, want %+v", i, got[i], evs[i])
			}
		}
	}
	// Foreign event types are skipped; malformed values are errors.
	foreign := []abci.Event{{Type: "cometbft"}, {Type: "transfer", Attributes: []abci.EventAttribute{{Key: "amount", Value: "x"}}}}
	if _, err := ParseEvents(foreign); err == nil {
		t.Fatal("malformed amount parsed")
	}
}

// FuzzDecodeEvents: results come from the chain, which a portal may follow over RPC from a
// node it does not run; any input decodes to events that encode back to it, or fails.
func FuzzDecodeEvents(f *testing.F) {
	f.Add(EncodeEvents([]Event{&TransferEvent{From: addr("a"), To: addr("b"), Asset: CoinSymbol, Amount: 1, Leg: "cash"}}))
	f.Add(EncodeEvents([]Event{&SettlementEvent{ID: ownerRef("s"), Kind: "dvp", State: SettlementConfirmed}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := DecodeEvents(b)
		if err != nil || len(b) == 0 {
			return
		}
		if !bytes.Equal(EncodeEvents(evs), b) {
			t.Fatalf("accepted non-canonical events %x", b)
		}
	})
}
