package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

// TestTransactionsPages pages through transactions with each filter, a few rows at a time,
// and finds every matching row once, newest first: the member and asset filter goes by the
// values' hashes (migration 00011) and must still drop rows of other values.
func TestTransactionsPages(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	if _, err := db.InitGenesis(ctx, genesis()); err != nil {
		t.Fatal(err)
	}
	members := []string{"SZFE", "BOCS", "HTSC"}
	assets := []string{"CNYS", "600001"}
	var all []store.Transaction
	var blocks []*store.BlockRows
	for h := int64(1); h <= 12; h++ {
		b := block(h, 1, (h-1)*10)
		b.Txs = nil
		for i := int32(0); i < 5; i++ {
			n := int(h)*5 + int(i)
			b.Txs = append(b.Txs, store.Transaction{BlockTime: b.Block.Time, Height: h, Idx: i, Hash: []byte{byte(h), byte(i)},
				Type: "transfer", Member: members[n%3], Asset: assets[n/3%2], Amount: int64(n)})
		}
		all = append(all, b.Txs...)
		blocks = append(blocks, b)
	}
	if _, err := db.WriteBlocks(ctx, blocks, store.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(all)

	for _, c := range []struct{ member, asset string }{
		{"", ""}, {"SZFE", ""}, {"", "600001"}, {"BOCS", "CNYS"}, {"HTSC", "600001"}, {"GTJA", "CNYS"}, {"SZFE", "none"},
	} {
		var want []int64
		for _, x := range all {
			if (c.member == "" || x.Member == c.member) && (c.asset == "" || x.Asset == c.asset) {
				want = append(want, x.Amount)
			}
		}
		var got []int64
		f := store.TxFilter{Member: c.member, Asset: c.asset, Limit: 4}
		for {
			page, err := db.Transactions(ctx, f)
			if err != nil {
				t.Fatalf("%+v: %v", c, err)
			}
			for _, x := range page {
				got = append(got, x.Amount)
			}
			if len(page) < f.Limit {
				break
			}
			last := page[len(page)-1]
			f.After = &store.TxKey{BlockTime: last.BlockTime, Height: last.Height, Idx: last.Idx}
		}
		if !slices.Equal(got, want) {
			t.Errorf("member %q asset %q: got %v, want %v", c.member, c.asset, got, want)
		}
	}
	if _, err := db.Transactions(ctx, store.TxFilter{Limit: store.MaxPage + 1}); err == nil {
		t.Error("a page over MaxPage was accepted")
	}
}
