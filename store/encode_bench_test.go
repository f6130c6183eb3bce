package store

import (
	"testing"
	"time"
)

// benchRows is a block of n transfers as the converter makes them: a tx row each, a leg
// for every fourth, and two balance changes.
func benchRows(h int64, n int) *BlockRows {
	at := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC).Add(time.Duration(h) * time.Second)
	b := &BlockRows{Block: Block{Height: h, Hash: make([]byte, 32), Time: at, Proposer: make([]byte, 20), AppHash: make([]byte, 32), TxCount: int32(n)}}
	acct := func(i int) []byte {
		return []byte{byte(i >> 8), byte(i), 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}
	}
	for i := range n {
		b.Txs = append(b.Txs, Transaction{BlockTime: at, Height: h, Idx: int32(i), Hash: make([]byte, 32), Type: "transfer",
			Signer: acct(i), Member: "HTSC", Nonce: h, Asset: "CNYS", Amount: 100, Counterparty: acct(i + 1), Memo: "n1"})
		if i%4 == 0 {
			b.Legs = append(b.Legs, TransferLeg{BlockTime: at, Height: h, TxIdx: int32(i), Seq: 1, Leg: "cash", From: acct(i), To: acct(i + 1), Asset: "CNYS", Amount: 100, TxHash: make([]byte, 32)})
		}
		b.Changes = append(b.Changes,
			BalanceChange{BlockTime: at, Height: h, Account: acct(i), Asset: "CNYS", Delta: -100, Amount: 1000, Locked: 0},
			BalanceChange{BlockTime: at, Height: h, Account: acct(i + 1), Asset: "CNYS", Delta: 100, Amount: 1000, Locked: 0})
	}
	return b
}

// BenchmarkEncode measures the COPY encoding of a block's history rows (Encoder.Encode, on
// ledgersync's reader), the balance chunks of a batch of 20 blocks (on the writer), and the
// rows of a multi-row INSERT, per block of 1000 transfers.
func BenchmarkEncode(b *testing.B) {
	blocks := make([]*BlockRows, 20)
	for i := range blocks {
		blocks[i] = benchRows(int64(i+1), 1000)
	}
	b.Run("history", func(b *testing.B) {
		e := &Encoder{perTx: make([]int, len(appendTables))}
		b.ReportAllocs()
		for b.Loop() {
			if err := e.Encode(blocks[0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("chunks", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			prepareChunks(blocks, true)
		}
	})
	b.Run("insert-rows", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := range appendTables {
				rows := appendTables[i].values(blocks[0])
				for rows.Next() {
					rows.Values()
				}
			}
		}
	})
}
