package ledgersync

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/node"
)

// TestConvertFoldsTransferLegs: a plain transfer's leg is not a row of its own, since the
// transfer_legs view reads it from the tx row, so the converter refuses a leg that row does
// not match; a DvP's legs are rows.
func TestConvertFoldsTransferLegs(t *testing.T) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	var pk ledger.PubKey
	copy(pk[:], key.Public().(ed25519.PublicKey))
	from, to, other := ledger.AddressOf(pk), ledger.Address{1}, ledger.Address{2}
	raw := (&ledger.Tx{ChainID: "test", Nonce: 1, Body: &ledger.Transfer{To: to, Asset: "CNYS", Amount: 1225}}).Sign(key)
	leg := func(f, t ledger.Address, asset string, amount uint64, kind string) ledger.Event {
		return &ledger.TransferEvent{From: f, To: t, Asset: asset, Amount: amount, Leg: kind}
	}
	for _, c := range []struct {
		name string
		evs  []ledger.Event
		code uint32
		legs int    // rows of settlement_legs
		err  string // what the error says, if one
	}{
		{"its own leg", []ledger.Event{leg(from, to, "CNYS", 1225, "transfer")}, 0, 0, ""},
		{"another amount", []ledger.Event{leg(from, to, "CNYS", 1224, "transfer")}, 0, 0, "differs from its transaction"},
		{"another recipient", []ledger.Event{leg(from, other, "CNYS", 1225, "transfer")}, 0, 0, "differs from its transaction"},
		{"another payer", []ledger.Event{leg(other, to, "CNYS", 1225, "transfer")}, 0, 0, "differs from its transaction"},
		{"another asset", []ledger.Event{leg(from, to, "SSE600000", 1225, "transfer")}, 0, 0, "differs from its transaction"},
		{"no leg", nil, 0, 0, "without its leg"},
		{"two of them", []ledger.Event{leg(from, to, "CNYS", 1225, "transfer"), leg(from, to, "CNYS", 1225, "transfer")}, 0, 0, "differs from its transaction"},
		{"settlement legs are kept", []ledger.Event{leg(from, to, "CNYS", 1225, "transfer"), leg(to, other, "SSE600000", 3, "settlement")}, 0, 1, ""},
		// The view shows no failed tx's leg: were one to move something, it is stored.
		{"a failed transfer's leg is kept", []ledger.Event{leg(from, to, "CNYS", 1225, "transfer")}, 20, 1, ""},
		{"a failed transfer without one", nil, 20, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := &node.CommittedBlock{Height: 5, Time: time.Unix(1_780_000_000, 0), Hash: []byte{5}, Txs: [][]byte{raw},
				TxResults: []*abci.ExecTxResult{{Code: c.code, Data: ledger.EncodeEvents(c.evs)}}}
			rows, err := (&converter{sponsors: map[string]string{}}).convert(b)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want one saying %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(rows.Legs) != c.legs {
				t.Errorf("%d leg rows, want %d: %+v", len(rows.Legs), c.legs, rows.Legs)
			}
			for _, l := range rows.Legs {
				if string(l.TxHash) != string(rows.Txs[0].Hash) {
					t.Errorf("leg %+v without its tx's hash %x", l, rows.Txs[0].Hash)
				}
			}
			if tx := rows.Txs[0]; string(tx.Signer) != string(from[:]) || string(tx.Counterparty) != string(to[:]) || tx.Amount != 1225 || tx.Asset != "CNYS" {
				t.Errorf("tx row %+v does not say what its leg says", tx)
			}
		})
	}
}
