package ledger

import (
	"context"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
)

// TestProposalOrdersNonces feeds a proposer one signer's nonces out of order, interleaved with
// another signer's and with garbage: the proposal puts them in order and all of them execute.
func TestProposalOrdersNonces(t *testing.T) {
	c := newChain(t)
	alice := c.party("alice", "A")
	c.fund(addr("alice"), 1_000)
	pay := func(n uint64) []byte {
		return (&Tx{ChainID: testChainID, Nonce: n, Body: &Transfer{To: addr("member/HTSC"), Asset: CoinSymbol, Amount: 1}}).Sign(alice)
	}
	other := c.sign(&Mint{Asset: CoinSymbol, To: addr("alice"), Amount: 5}, member("BOCS"))
	garbage := []byte("not a tx")
	in := [][]byte{pay(3), other, pay(1), garbage, pay(2)}
	resp, err := c.app.PrepareProposal(context.Background(), &abci.PrepareProposalRequest{Txs: in, MaxTxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{pay(1), other, pay(2), garbage, pay(3)}
	for i := range want {
		if string(resp.Txs[i]) != string(want[i]) {
			t.Fatalf("slot %d holds the wrong tx", i)
		}
	}
	res := c.block(resp.Txs...)
	for i, r := range res.TxResults {
		if i != 3 && r.Code != 0 {
			t.Fatalf("tx %d: %s %s", i, Code(r.Code), r.Log)
		}
	}
	trimmed, _ := c.app.PrepareProposal(context.Background(), &abci.PrepareProposalRequest{Txs: in, MaxTxBytes: int64(len(in[0]) + len(in[1]))})
	if len(trimmed.Txs) != 2 {
		t.Fatalf("byte limit kept %d txs, want 2", len(trimmed.Txs))
	}
}
