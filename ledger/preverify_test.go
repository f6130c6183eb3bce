package ledger

import (
	"bytes"
	"fmt"
	"testing"
)

// TestPreverify checks what Preverify hands to FinalizeBlock: each transaction prepared, with
// its signature verdict, for a block not yet executing, and nothing for one executing; and
// that a block's outcome is the same whether its transactions were prepared ahead or not.
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
		wantDone   int                  // txs prepared
		wantSigsOK []bool               // good, forged, junk
	}{
		{"next block", func(c *chain) int64 { return c.height + 1 }, 3, []bool{true, false, false}},
		{"block already executing", func(c *chain) int64 { return c.height }, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChain(t)
			c.app.sigs = NewSigCache(1 << 10)
			good, forged, junk := build(c)
			h := tt.height(c)
			c.app.Preverify(h, [][]byte{good, forged, junk})
			b, done := c.app.prepared.take(h)
			if done != tt.wantDone {
				t.Fatalf("%d txs prepared, want %d", done, tt.wantDone)
			}
			for i, want := range tt.wantSigsOK {
				if got := b.out[i].sigsOK; got != want {
					t.Errorf("tx %d signatures ok %v, want %v", i, got, want)
				}
			}
			if b != nil && b.out[2].dtx != nil {
				t.Error("junk decoded")
			}
		})
	}

	// Apps fed the same block agree on every result and on the app hash, whether Preverify
	// saw that block, part of it, or other bytes at the same height.
	ahead := []struct {
		name string
		saw  func(good, forged, junk []byte) [][]byte
	}{
		{"nothing ahead", nil},
		{"the same block", func(g, f, j []byte) [][]byte { return [][]byte{g, f, j} }},
		{"a copy of it", func(g, f, j []byte) [][]byte { return [][]byte{bytes.Clone(g), bytes.Clone(f), bytes.Clone(j)} }},
		{"other txs in its place", func(g, f, j []byte) [][]byte { return [][]byte{f, g, j} }},
		{"its first tx only", func(g, f, j []byte) [][]byte { return [][]byte{g} }},
	}
	var want string
	for i, tt := range ahead {
		c := newChain(t)
		c.app.sigs = NewSigCache(1 << 10)
		good, forged, junk := build(c)
		if tt.saw != nil {
			c.app.Preverify(c.height+1, tt.saw(good, forged, junk))
		}
		r := c.block(good, forged, junk)
		s := fmt.Sprintf("%X", r.AppHash)
		for _, x := range r.TxResults {
			s += fmt.Sprintf(" %d/%s/%X", x.Code, x.Log, x.Data)
		}
		if i == 0 {
			want = s
		} else if s != want {
			t.Errorf("%s: the block came out differently:\n%s\n%s", tt.name, s, want)
		}
	}
}

// TestPreparedBound checks that Preverify gives up on a block rather than hold more than
// maxPreparedTxs ahead of execution once execution has passed it, and that taking a block
// frees its room and drops the heights below it.
func TestPreparedBound(t *testing.T) {
	p := newPreparedBlocks()
	big := make([][]byte, maxPreparedTxs)
	if p.reserve(5, big, func() int64 { return 0 }) == nil {
		t.Fatal("the first block was refused")
	}
	if p.reserve(5, big[:1], func() int64 { return 0 }) != nil {
		t.Fatal("a block was registered twice")
	}
	if p.reserve(6, big[:1], func() int64 { return 6 }) != nil {
		t.Fatal("a block past the bound was held although its height is executing")
	}
	if p.reserve(4, big[:1], func() int64 { return 4 }) != nil {
		t.Fatal("a block past the bound was held although its height is executing")
	}
	if b, _ := p.take(7); b != nil || p.held != 0 || len(p.blocks) != 0 {
		t.Fatalf("take(7) left %d txs in %d blocks", p.held, len(p.blocks))
	}
	if p.reserve(8, big[:1], func() int64 { return 0 }) == nil {
		t.Fatal("no room after the take")
	}
}
