package ledger

import (
	"bytes"
	"fmt"
	"testing"
)

// TestPreverify checks what Preverify remembers: the transactions whose signatures hold, for
// a block not yet executing, and nothing else; and that a block's outcome is the same
// whether its signatures were checked ahead or not.
func TestPreverify(t *testing.T) {
	build := func(c *chain) (good, forged, junk []byte) {
		k := key("pre/1")
		c.must(&RegisterAccount{PubKey: PubKeyOf(k), Kind: KindIndividual, OwnerRef: ownerRef("pre")}, member("HTSC"))
		good = c.sign(&Transfer{To: AddressOf(PubKeyOf(k)), Asset: CoinSymbol, Amount: 1}, member("BOCS"))
		forged = bytes.Clone(c.sign(&Transfer{To: AddressOf(PubKeyOf(k)), Asset: CoinSymbol, Amount: 2}, member("BOCS")))
		forged[len(forged)-1] ^= 1 // the signature's last byte
		return good, forged, []byte("not a transaction")
	}
	tests := []struct {
		name       string
		height     func(c *chain) int64 // the height Preverify is told
		wantCached []bool               // good, forged, junk
	}{
		{"next block", func(c *chain) int64 { return c.height + 1 }, []bool{true, false, false}},
		{"block already executing", func(c *chain) int64 { return c.height }, []bool{false, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChain(t)
			c.app.sigs = NewSigCache(1 << 10)
			good, forged, junk := build(c)
			c.app.Preverify(tt.height(c), [][]byte{good, forged, junk})
			for i, tx := range [][]byte{good, forged, junk} {
				if got := c.app.sigs.has(TxHash(tx)); got != tt.wantCached[i] {
					t.Errorf("tx %d cached %v, want %v", i, got, tt.wantCached[i])
				}
			}
		})
	}

	// Two apps fed the same block, one with its signatures checked ahead, agree on every
	// result and on the app hash.
	var resps []string
	for _, ahead := range []bool{false, true} {
		c := newChain(t)
		c.app.sigs = NewSigCache(1 << 10)
		good, forged, junk := build(c)
		txs := [][]byte{good, forged, junk}
		if ahead {
			c.app.Preverify(c.height+1, txs)
		}
		r := c.block(txs...)
		s := fmt.Sprintf("%X", r.AppHash)
		for _, x := range r.TxResults {
			s += fmt.Sprintf(" %d/%s/%X", x.Code, x.Log, x.Data)
		}
		resps = append(resps, s)
	}
	if resps[0] != resps[1] {
		t.Fatalf("the block came out differently:\n%s\n%s", resps[0], resps[1])
	}
}
