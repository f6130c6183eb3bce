package bench

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// Traffic is signed load for a chain of the demo genesis. Each phase of Setup must be
// committed before the next (accounts exist before they are funded), and all of it before Load.
type Traffic struct {
	Setup [][][]byte
	Load  [][]byte
}

// setupTxs counts the setup transactions.
func (t Traffic) setupTxs() int {
	n := 0
	for _, p := range t.Setup {
		n += len(p)
	}
	return n
}

// transfers builds simple traffic: parties registered and funded, then coin transfers among
// them, signed on every core. It stands in where the mixed traffic of the load generator is
// not needed.
func transfers(seed, chainID string, parties, n int) Traffic {
	key := func(i int) ledger.PubKey { return ledger.PubKeyOf(ledger.DemoKey(seed, fmt.Sprintf("bench/%d", i))) }
	var tr Traffic
	broker, bank := ledger.DemoKey(seed, "member/HTSC"), ledger.DemoKey(seed, "member/BOCS")
	tr.Setup = make([][][]byte, 2)
	for i := range parties {
		tr.Setup[0] = append(tr.Setup[0], (&ledger.Tx{ChainID: chainID, Nonce: uint64(i + 1), Body: &ledger.RegisterAccount{
			PubKey: key(i), Kind: ledger.KindIndividual, OwnerRef: ledger.OwnerRef(fmt.Sprint("bench-owner-", i)),
		}}).Sign(broker))
		tr.Setup[1] = append(tr.Setup[1], (&ledger.Tx{ChainID: chainID, Nonce: uint64(i + 1), Body: &ledger.Mint{
			Asset: ledger.CoinSymbol, To: ledger.AddressOf(key(i)), Amount: 1 << 40,
		}}).Sign(bank))
	}
	tr.Load = make([][]byte, n)
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				from := i % parties
				k := ledger.DemoKey(seed, fmt.Sprintf("bench/%d", from))
				tr.Load[i] = (&ledger.Tx{ChainID: chainID, Nonce: uint64(i/parties + 1), Body: &ledger.Transfer{
					To: ledger.AddressOf(key((from + 1 + (i/parties)%(parties-1)) % parties)), Asset: ledger.CoinSymbol, Amount: 1,
				}}).Sign(k)
			}
		}()
	}
	wg.Wait()
	return tr
}
