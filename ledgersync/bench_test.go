package ledgersync

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/node"
	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

// BenchmarkCatchUp measures catch-up ingest: converted blocks of coin and stock transfers
// written in batches of 20 blocks, with COPY and with multi-row INSERT. It reports
// transactions and rows per second of database time.
func BenchmarkCatchUp(b *testing.B) {
	var rows []*store.BlockRows
	conv := benchConverter(b)
	for _, blk := range benchBlocks(b) {
		r, err := conv.convert(blk)
		if err != nil {
			b.Fatal(err)
		}
		rows = append(rows, r)
	}
	for _, mode := range []struct {
		name    string
		copyMin int
	}{{"copy", 1}, {"insert", 1 << 30}} {
		b.Run(mode.name, func(b *testing.B) {
			var txs, n int
			var took time.Duration
			for b.Loop() {
				b.StopTimer()
				db := pgtest.New(b)
				if _, err := db.InitGenesis(context.Background(), testGenesis(b)); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				for lo := 0; lo < len(rows); lo += 20 {
					res, err := db.WriteBlocks(context.Background(), rows[lo:min(lo+20, len(rows))], store.WriteOptions{CopyMinRows: mode.copyMin})
					if err != nil {
						b.Fatal(err)
					}
					n += res.Rows
				}
				took += time.Since(start)
				for _, r := range rows {
					txs += len(r.Txs)
				}
			}
			b.ReportMetric(float64(txs)/took.Seconds(), "tx/s")
			b.ReportMetric(float64(n)/took.Seconds(), "rows/s")
		})
	}
}

// benchBlocks are 40 committed blocks of 1000 coin and stock transfers.
func benchBlocks(b *testing.B) []*node.CommittedBlock {
	const blocks, perBlock = 40, 1000
	src := newTestChain(b, 10)
	for range blocks {
		txs := make([][]byte, perBlock)
		for i := range txs {
			p, q := src.parties[i%len(src.parties)], src.parties[(i+1)%len(src.parties)]
			asset := ledger.CoinSymbol
			if i%2 == 1 {
				asset = src.assets[i%len(src.assets)]
			}
			txs[i] = src.sign(&ledger.Transfer{To: addrOf(q), Asset: asset, Amount: 1}, p)
		}
		src.Next(time.Second, txs...)
	}
	var out []*node.CommittedBlock
	for h := int64(1); h <= src.Height(); h++ {
		blk, err := src.Block(context.Background(), h)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, blk)
	}
	return out
}

// benchConverter is a converter that knows the genesis accounts' sponsors.
func benchConverter(b *testing.B) *converter {
	conv := &converter{sponsors: map[string]string{}}
	for _, a := range testGenesis(b).Accounts {
		conv.sponsors[string(a.Address)] = a.Sponsor
	}
	return conv
}

// BenchmarkConvert measures the converter, which decodes every tx and its events into
// rows, per transaction.
func BenchmarkConvert(b *testing.B) {
	blocks := benchBlocks(b)
	var txs int
	for _, blk := range blocks {
		txs += len(blk.Txs)
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		conv := benchConverter(b)
		for _, blk := range blocks {
			if _, err := conv.convert(blk); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*txs), "ns/tx")
	// CPU time tells more than wall time on a machine that other work shares.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*txs), "cpu-ns/tx")
}

// cpuTime is the CPU time the process has used, its garbage collection's included.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
