package ledger

import (
	"context"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
)

func TestCheckTx(t *testing.T) {
	c := newChain(t)
	alice := c.party("alice", "A")
	c.fund(addr("alice"), 1_000)
	to := addr("member/HTSC")
	mk := func(nonce uint64) []byte {
		return (&Tx{ChainID: testChainID, Nonce: nonce, Body: &Transfer{To: to, Asset: CoinSymbol, Amount: 1}}).Sign(alice)
	}
	check := func(raw []byte, typ abci.CheckTxType) Code {
		res, err := c.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: raw, Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		return Code(res.Code)
	}
	badSig := mk(1)
	badSig[len(badSig)-1] ^= 1
	steps := []struct {
		name string
		raw  []byte
		typ  abci.CheckTxType
		want Code
	}{
		{"first nonce", mk(1), abci.CHECK_TX_TYPE_CHECK, CodeOK},
		{"gap", mk(3), abci.CHECK_TX_TYPE_CHECK, CodeBadNonce},
		{"next", mk(2), abci.CHECK_TX_TYPE_CHECK, CodeOK},
		{"resubmitted", mk(1), abci.CHECK_TX_TYPE_CHECK, CodeOK},
		{"then the gap closes", mk(3), abci.CHECK_TX_TYPE_CHECK, CodeOK},
		{"malformed", []byte("x"), abci.CHECK_TX_TYPE_CHECK, CodeMalformed},
		{"bad signature", badSig, abci.CHECK_TX_TYPE_CHECK, CodeBadSignature},
		{"unknown signer", (&Tx{ChainID: testChainID, Nonce: 1, Body: &Transfer{To: to, Asset: CoinSymbol, Amount: 1}}).Sign(key("nobody")), abci.CHECK_TX_TYPE_CHECK, CodeUnknownSigner},
		{"wrong chain", (&Tx{ChainID: "x", Nonce: 4, Body: &Transfer{To: to, Asset: CoinSymbol, Amount: 1}}).Sign(alice), abci.CHECK_TX_TYPE_CHECK, CodeWrongChain},
		{"invalid body", (&Tx{ChainID: testChainID, Nonce: 4, Body: &Transfer{To: to, Asset: CoinSymbol}}).Sign(alice), abci.CHECK_TX_TYPE_CHECK, CodeInvalidField},
	}
	for _, s := range steps {
		if got := check(s.raw, s.typ); got != s.want {
			t.Fatalf("%s: %s, want %s", s.name, got, s.want)
		}
	}
	// A block spends nonces 1 and 2; the mempool's bookkeeping keeps 3 pending.
	c.nonces[addr("alice")] = 2
	c.block(mk(1), mk(2))
	after := []struct {
		name string
		raw  []byte
		typ  abci.CheckTxType
		want Code
	}{
		{"spent nonce", mk(2), abci.CHECK_TX_TYPE_CHECK, CodeBadNonce},
		{"recheck of a spent nonce evicts", mk(1), abci.CHECK_TX_TYPE_RECHECK, CodeBadNonce},
		{"recheck of a pending one keeps", mk(3), abci.CHECK_TX_TYPE_RECHECK, CodeOK},
		{"pending one resubmitted", mk(3), abci.CHECK_TX_TYPE_CHECK, CodeOK},
		{"the one after it", mk(4), abci.CHECK_TX_TYPE_CHECK, CodeOK},
		{"a gap after it", mk(6), abci.CHECK_TX_TYPE_CHECK, CodeBadNonce},
	}
	for _, s := range after {
		if got := check(s.raw, s.typ); got != s.want {
			t.Fatalf("%s: %s, want %s", s.name, got, s.want)
		}
	}
}
