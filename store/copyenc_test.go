package store_test

import (
	"context"
	"testing"

	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

// TestEncodedCopyMatches writes the same blocks twice, through pgx's CopyFrom and as rows
// an Encoder encoded ahead, and finds the same rows: NULLs, empty and non-ASCII text,
// extreme integers, and a block without history rows included.
func TestEncodedCopyMatches(t *testing.T) {
	ctx := context.Background()
	blocks := func() []*store.BlockRows {
		var out []*store.BlockRows
		for h := int64(1); h <= 30; h++ {
			b := block(h, 1, h*10)
			at := b.Block.Time
			b.Txs = append(b.Txs,
				store.Transaction{BlockTime: at, Height: h, Idx: 1, Hash: []byte{0, byte(h)}, Code: 3, Reason: "undecodable"},
				store.Transaction{BlockTime: at, Height: h, Idx: 2, Hash: []byte{1, byte(h)}, Type: "transfer", Signer: addr(3),
					Member: "SZFE", Nonce: 1<<62 + h, Asset: "CNYS", Amount: -1 << 63, Counterparty: addr(4), Memo: "货款 ✓ 'q' \\ \"x\"\n"})
			b.Legs = []store.TransferLeg{{BlockTime: at.Add(987654321), Height: h, TxIdx: 2, Seq: 0, Leg: "cash", From: addr(3), To: addr(4), Asset: "CNYS", Amount: 1<<63 - 1, TxHash: addr(9)}}
			b.Changes = append(b.Changes, store.BalanceChange{BlockTime: at, Height: h, Account: addr(4), Asset: "CNYS", Delta: -5, Amount: 7, Locked: 7})
			if h == 17 {
				b.Txs, b.Legs, b.Changes = nil, nil, nil
			}
			out = append(out, b)
		}
		return out
	}

	plain := pgtest.New(t)
	if _, err := plain.InitGenesis(ctx, genesis()); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.WriteBlocks(ctx, blocks(), store.WriteOptions{CopyMinRows: 1}); err != nil {
		t.Fatal(err)
	}

	enc := pgtest.New(t)
	if _, err := enc.InitGenesis(ctx, genesis()); err != nil {
		t.Fatal(err)
	}
	// Set aside, the history's primary key asks for no order, and every history table goes
	// the encoded way.
	if _, err := enc.DeferIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	e, err := enc.NewEncoder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bs := blocks()
	for _, b := range bs {
		if err := e.Encode(b); err != nil {
			t.Fatal(err)
		}
	}
	res, err := enc.WriteBlocks(ctx, bs, store.WriteOptions{CopyMinRows: 1})
	if err != nil || res.Written != len(bs) {
		t.Fatalf("encoded write: %+v, %v", res, err)
	}
	if _, err := enc.RestoreIndexes(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, table := range pgtest.Tables {
		if a, b := pgtest.Checksum(t, plain, table), pgtest.Checksum(t, enc, table); a != b {
			t.Errorf("%s differs between pgx's COPY and the encoded one", table)
		}
	}
}
