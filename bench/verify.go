package bench

import (
	"crypto/ed25519"
	crand "crypto/rand"
	"crypto/sha256"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519/extra/cache"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// zip215 are the verification rules of CometBFT and the ledger.
var zip215 = &voi.Options{Verify: voi.VerifyOptionsZIP_215}

// VerifyRate measures how many Ed25519 signatures per second this machine verifies in
// batches of the app's largest (ledger.MaxVerifyBatch) on all cores: the ceiling for
// validating signed transactions.
func VerifyRate(d time.Duration) Row {
	const batch = ledger.MaxVerifyBatch
	keys := make([]voi.PublicKey, batch)
	msgs := make([][]byte, batch)
	sigs := make([][]byte, batch)
	for i := range batch {
		seed := sha256.Sum256([]byte(fmt.Sprintf("verify-rate/%d", i)))
		k := ed25519.NewKeyFromSeed(seed[:])
		keys[i] = voi.PublicKey(k.Public().(ed25519.PublicKey))
		msg := sha256.Sum256(seed[:])
		msgs[i] = msg[:]
		sigs[i] = ed25519.Sign(k, msgs[i])
	}
	// Keys stay decompressed between batches, as the ledger keeps its active accounts'.
	cached := cache.NewVerifier(cache.NewLRUCache(batch))
	var total atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				bv := voi.NewBatchVerifierWithCapacity(batch)
				for i := range batch {
					cached.AddWithOptions(bv, keys[i], msgs[i], sigs[i], zip215)
				}
				if ok, _ := bv.Verify(crand.Reader); !ok {
					panic("verify-rate batch failed")
				}
				total.Add(batch)
			}
		}()
	}
	wg.Wait()
	rate := float64(total.Load()) / time.Since(start).Seconds()
	return Row{Name: "Ed25519 batch verify, all cores", Value: rate, Unit: "sig/s",
		Note: fmt.Sprintf("batches of %d on %d cores: the ceiling", batch, runtime.GOMAXPROCS(0))}
}

// cpuTime is this process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
