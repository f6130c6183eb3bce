package ledger

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
)

// BenchmarkFinalizeBlock executes blocks of signed transfers among many accounts with a cold
// signature cache, as a full node that never saw the txs in its mempool does.
func BenchmarkFinalizeBlock(b *testing.B) {
	c := newChain(b)
	c.app.cfg.CheckInvariants = false
	const parties = 2000
	keys := make([]Address, parties)
	var txs [][]byte
	for i := range parties {
		k := key(fmt.Sprintf("bench/%d", i))
		keys[i] = AddressOf(PubKeyOf(k))
		txs = append(txs, c.sign(&RegisterAccount{PubKey: PubKeyOf(k), Kind: KindIndividual, OwnerRef: ownerRef(fmt.Sprint(i))}, member("HTSC")))
	}
	c.block(txs...)
	txs = txs[:0]
	for _, a := range keys {
		txs = append(txs, c.sign(&Mint{Asset: CoinSymbol, To: a, Amount: 1 << 40}, member("BOCS")))
	}
	c.block(txs...)
	const perBlock = 10_000
	blocks := make([][][]byte, 8)
	for j := range blocks {
		for i := range perBlock {
			from := key(fmt.Sprintf("bench/%d", i%parties))
			blocks[j] = append(blocks[j], c.sign(&Transfer{To: keys[(i*7+j+1)%parties], Asset: CoinSymbol, Amount: 100}, from))
		}
	}
	c.app.sigs = NewSigCache(1)
	if p := os.Getenv("LEDGER_BENCH_PROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	done := 0
	for j := 0; j < b.N && j < len(blocks); j++ {
		c.height++
		c.time = c.time.Add(time.Second)
		resp, err := c.app.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{Height: c.height, Time: c.time, Txs: blocks[j]})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.app.Commit(context.Background(), &abci.CommitRequest{}); err != nil {
			b.Fatal(err)
		}
		if resp.TxResults[0].Code != 0 {
			b.Fatalf("tx failed: %s", resp.TxResults[0].Log)
		}
		done += perBlock
	}
	b.ReportMetric(float64(done)/time.Since(start).Seconds(), "tx/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(done), "cpu-µs/tx")
}

// cpuTime is the process's user and system CPU time so far: unlike wall time, it does not
// count the time other processes on a shared machine take.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
