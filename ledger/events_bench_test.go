package ledger

import "testing"

// benchEvents are a transfer's events, the converter's common case, and one of each other
// kind, so that every codec is in the figures.
func benchEvents() [][]Event {
	a, b := addr("alice"), addr("bob")
	transfer := []Event{
		&TransferEvent{From: a, To: b, Asset: CoinSymbol, Amount: 5, Leg: "transfer"},
		&BalanceEvent{Account: a, Asset: CoinSymbol, Delta: -5, Amount: 95},
		&BalanceEvent{Account: b, Asset: CoinSymbol, Delta: 5, Amount: 105},
	}
	others := []Event{
		&LockEvent{Settlement: ownerRef("s"), Account: a, Asset: "600001", Amount: 9},
		&ReleaseEvent{Settlement: ownerRef("s"), Account: a, Asset: "600001", Amount: 9, Outcome: "failed"},
		&MintEvent{Asset: CoinSymbol, To: a, Amount: 7, Supply: 7},
		&BurnEvent{Asset: CoinSymbol, From: a, Amount: 7, Supply: 0},
		&FreezeEvent{Account: a, Frozen: true, Reason: "probe"},
		&AccountEvent{Address: a, PubKey: PubKeyOf(key("alice")), Sponsor: "HTSC", Kind: KindIndividual, OwnerRef: ownerRef("A"), Venues: []string{"SZFE"}},
		&AssetEvent{Asset: Asset{Symbol: "IF2612", Name: "CSI 300", Class: ClassSecurity, Kind: SecurityFuture, Issuer: "TJCE", Venue: "TJCE", PositionLimit: 10, Status: StatusActive}},
		&ReservesEvent{Amount: 100, AsOf: 1_700_000_000, Report: ownerRef("r"), Supply: 90},
		&SettlementEvent{ID: ownerRef("s"), Kind: "gateway", State: SettlementLocked, Gateway: "UPGW", Seller: a, Buyer: b, Asset: "600001", Quantity: 9, Cash: 1000, Deadline: 1_700_000_100},
	}
	return [][]Event{transfer, others}
}

// BenchmarkEvents measures the events' binary codec, which ledgersync's converter decodes
// for every tx and FinalizeBlock encodes, and their ABCI attributes.
func BenchmarkEvents(b *testing.B) {
	sets := benchEvents()
	for i, name := range []string{"transfer", "others"} {
		evs := sets[i]
		bin := EncodeEvents(evs)
		b.Run("decode/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeEvents(bin); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("encode/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				EncodeEvents(evs)
			}
		})
		attrs := ToABCI(evs)
		b.Run("parse/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseEvents(attrs); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("attrs/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ToABCI(evs)
			}
		})
	}
}
