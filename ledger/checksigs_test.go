package ledger

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

// TestCheckVerifier checks that concurrent callers each get their own tx's verdict, whether
// it was verified alone or in a batch beside forged ones, and that verification still works
// after the verifier is closed.
func TestCheckVerifier(t *testing.T) {
	const n = 600
	txs := make([]*DecodedTx, n)
	want := make([]bool, n)
	for i := range n {
		k := key(fmt.Sprint("checksigs/", i%37))
		raw := (&Tx{ChainID: "c", Nonce: uint64(i + 1), Body: &Transfer{To: AddressOf(PubKeyOf(k)), Asset: CoinSymbol, Amount: 1}}).Sign(k)
		want[i] = i%5 != 3
		if !want[i] {
			raw = bytes.Clone(raw)
			raw[len(raw)-1] ^= 1 // the signature's last byte
		}
		dtx, err := DecodeTx(raw)
		if err != nil {
			t.Fatal(err)
		}
		txs[i] = dtx
	}
	for _, tt := range []struct {
		name    string
		callers int
		closed  bool
	}{
		{"one caller", 1, false},
		{"many callers", 32, false},
		{"closed", 8, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := newCheckVerifier()
			if tt.closed {
				v.close()
			}
			defer v.close()
			var wg sync.WaitGroup
			for c := range tt.callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := c; i < n; i += tt.callers {
						if got := v.verify(txs[i]); got != want[i] {
							t.Errorf("tx %d: verified %v, want %v", i, got, want[i])
						}
					}
				}()
			}
			wg.Wait()
		})
	}
}
