package devnet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/ledgerscope/ledgerscope/devnet"
	"github.com/ledgerscope/ledgerscope/devnet/devnettest"
	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/node"
)

// submitter signs demo transactions with tracked nonces.
type submitter struct {
	t      *testing.T
	n      *node.Node
	seed   string
	chain  string
	nonces map[ledger.Address]uint64
}

func (s *submitter) send(body ledger.Body, signer string) ledger.Hash {
	s.t.Helper()
	k := ledger.DemoKey(s.seed, signer)
	a := ledger.AddressOf(ledger.PubKeyOf(k))
	s.nonces[a]++
	raw := (&ledger.Tx{ChainID: s.chain, Nonce: s.nonces[a], Body: body}).Sign(k)
	res, err := s.n.SubmitTx(raw)
	if err != nil {
		s.t.Fatal(err)
	}
	if res.Code != 0 {
		s.t.Fatalf("CheckTx %T: %d %s", body, res.Code, res.Log)
	}
	return ledger.TxHash(raw)
}

func waitHeight(t *testing.T, app *ledger.App, h int64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for app.Height() < h {
		if time.Now().After(deadline) {
			t.Fatalf("height %d not reached, at %d", h, app.Height())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFullNodeCatchesUpAndAgrees runs four validators with traffic, then starts a full node
// that block-syncs from them and re-executes everything: at every height its app hash must
// equal the validators'.
func TestFullNodeCatchesUpAndAgrees(t *testing.T) {
	ctx := context.Background()
	opts := devnettest.Options(t, 4)
	dn, err := devnet.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer dn.Stop()
	v0 := dn.Members[0]
	s := &submitter{t: t, n: v0.Node, seed: opts.Seed, chain: dn.Meta.ChainID, nonces: map[ledger.Address]uint64{}}
	htsc := ledger.AddressOf(ledger.PubKeyOf(ledger.DemoKey(opts.Seed, "member/HTSC")))
	gtja := ledger.AddressOf(ledger.PubKeyOf(ledger.DemoKey(opts.Seed, "member/GTJA")))
	s.send(&ledger.Mint{Asset: ledger.CoinSymbol, To: htsc, Amount: 1_000_000}, "member/BOCS")
	waitHeight(t, v0.App, v0.App.Height()+2)
	for i := range 50 {
		s.send(&ledger.Transfer{To: gtja, Asset: ledger.CoinSymbol, Amount: uint64(i + 1)}, "member/HTSC")
	}
	waitHeight(t, v0.App, v0.App.Height()+3)
	var got uint64
	v0.App.View(func(st *ledger.State) { got = st.Balance(gtja, ledger.CoinSymbol).Amount })
	if got != 50*51/2 {
		t.Fatalf("GTJA holds %d, want %d", got, 50*51/2)
	}

	full, err := dn.AddFullNode(ctx, "PORTAL", opts.Validators+1)
	if err != nil {
		t.Fatal(err)
	}
	target := v0.App.Height()
	waitHeight(t, full.App, target)
	for h := int64(1); h <= target; h++ {
		a, err := v0.Node.Block(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		b, err := full.Node.Block(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.AppHash, b.AppHash) || !bytes.Equal(a.Hash, b.Hash) {
			t.Fatalf("height %d: validator %X/%X, full node %X/%X", h, a.Hash, a.AppHash, b.Hash, b.AppHash)
		}
	}
	for _, m := range dn.Members[1:] {
		if !bytes.Equal(m.App.AppHash(), v0.App.AppHash()) && m.App.Height() == v0.App.Height() {
			t.Fatalf("%s disagrees at height %d", m.Name, m.App.Height())
		}
	}
}

// TestRestartResumes stops a single-validator devnet and starts it again from its home: the
// chain continues from the same height and app hash.
func TestRestartResumes(t *testing.T) {
	ctx := context.Background()
	opts := devnettest.Options(t, 1)
	dn, err := devnet.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	v0 := dn.Members[0]
	waitHeight(t, v0.App, 3)
	if err := dn.Stop(); err != nil {
		t.Fatal(err)
	}
	dn, err = devnet.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer dn.Stop()
	v0 = dn.Members[0]
	h := v0.App.Height()
	waitHeight(t, v0.App, h+2)
	b, err := v0.Node.Block(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.AppHash) == 0 {
		t.Fatal("no app hash after restart")
	}
}

// TestFollowFromOutside reads a running devnet as a process outside it does (the portal
// command's --from-devnet): devnet.json, the genesis file and the validators' peer addresses
// are those of the running nodes.
func TestFollowFromOutside(t *testing.T) {
	ctx := context.Background()
	opts := devnettest.Options(t, 2)
	dn, err := devnet.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer dn.Stop()
	meta, err := devnet.Load(opts.Home)
	if err != nil {
		t.Fatal(err)
	}
	if meta != dn.Meta {
		t.Fatalf("Load: %+v, running devnet %+v", meta, dn.Meta)
	}
	b, err := os.ReadFile(devnet.GenesisFile(opts.Home))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := types.GenesisDocFromJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	want, err := dn.Genesis()
	if err != nil {
		t.Fatal(err)
	}
	// The file holds the app state indented; its content is what counts.
	var got, exp bytes.Buffer
	if err := json.Compact(&got, doc.AppState); err != nil {
		t.Fatal(err)
	}
	if err := json.Compact(&exp, want.AppState); err != nil {
		t.Fatal(err)
	}
	if doc.ChainID != want.ChainID || !doc.GenesisTime.Equal(want.GenesisTime) || !bytes.Equal(got.Bytes(), exp.Bytes()) ||
		len(doc.Validators) != len(want.Validators) || !bytes.Equal(doc.Validators[1].PubKey.Bytes(), want.Validators[1].PubKey.Bytes()) {
		t.Fatalf("genesis file differs from the devnet's genesis")
	}
	peers := meta.Peers()
	if len(peers) != len(dn.Members) {
		t.Fatalf("%d peers for %d validators", len(peers), len(dn.Members))
	}
	for i, m := range dn.Members {
		if peers[i] != m.Node.P2PAddress() {
			t.Errorf("peer %d: %s, node says %s", i, peers[i], m.Node.P2PAddress())
		}
	}
	if _, err := devnet.Load(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of an empty directory: %v, want os.ErrNotExist", err)
	}
}
