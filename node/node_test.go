package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
)

// sameBlock fails the test unless a and b are the same committed block with the same
// results, comparing results in their canonical protobuf encoding.
func sameBlock(t testing.TB, a, b *CommittedBlock) {
	t.Helper()
	if a.Height != b.Height || !bytes.Equal(a.Hash, b.Hash) || !a.Time.Equal(b.Time) ||
		a.ChainID != b.ChainID || !bytes.Equal(a.Proposer, b.Proposer) || !bytes.Equal(a.AppHash, b.AppHash) {
		t.Fatalf("block %d differs:\n%+v\n%+v", a.Height, a, b)
	}
	if len(a.Txs) != len(b.Txs) || len(a.TxResults) != len(b.TxResults) || len(a.Events) != len(b.Events) {
		t.Fatalf("block %d: tx, result or event counts differ", a.Height)
	}
	for i := range a.Txs {
		if !bytes.Equal(a.Txs[i], b.Txs[i]) || !bytes.Equal(marshal(t, a.TxResults[i]), marshal(t, b.TxResults[i])) {
			t.Fatalf("block %d: tx %d or its result differs", a.Height, i)
		}
	}
	for i := range a.Events {
		if !bytes.Equal(marshal(t, &a.Events[i]), marshal(t, &b.Events[i])) {
			t.Fatalf("block %d: event %d differs", a.Height, i)
		}
	}
}

func marshal(t testing.TB, m interface{ Marshal() ([]byte, error) }) []byte {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newSingle initialises a one-validator chain in a temporary home.
func newSingle(t testing.TB) *member {
	t.Helper()
	m := &member{keys: Keys{Validator: ed25519.GenPrivKey(), Node: ed25519.GenPrivKey()}}
	m.cfg = testConfig(filepath.Join(t.TempDir(), "solo"), "solo", freePort(t))
	m.cfg.Validator = true
	gen, err := NewGenesis(GenesisSpec{
		ChainID:    "ledgerscope-solo",
		Time:       time.Now().Add(-time.Second),
		Validators: []GenesisValidator{{Name: "solo", PubKey: m.keys.Validator.PubKey(), Power: 1}},
		AppState:   []byte(`{"genesis":"yes"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := InitHome(m.cfg, gen, m.keys); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSingleValidatorYieldsBlocksInOrder(t *testing.T) {
	m := newSingle(t)
	m.start(t)
	n := m.node

	for _, tx := range []string{"a=1", "broken"} {
		res, err := n.SubmitTx([]byte(tx))
		if err != nil || res.Code != 0 {
			t.Fatalf("submit %q: %v %+v", tx, err, res)
		}
	}
	// Read from height 1 in order; every block waits for its commit.
	results := map[string]uint32{}
	for h := int64(1); h <= 6; h++ {
		b := block(t, n, h, 20*time.Second)
		if b.Height != h || b.ChainID != "ledgerscope-solo" || len(b.Hash) == 0 || len(b.Proposer) == 0 {
			t.Fatalf("block %d: %+v", h, b)
		}
		if !bytes.Equal(b.AppHash, m.app.hashAt(h)) {
			t.Fatalf("block %d: app hash %X, the app returned %X", h, b.AppHash, m.app.hashAt(h))
		}
		if len(b.Events) != 1 || b.Events[0].Type != "block" {
			t.Fatalf("block %d: events %+v", h, b.Events)
		}
		for i, tx := range b.Txs {
			results[string(tx)] = b.TxResults[i].Code
		}
	}
	// The failed transaction stays in its block with its code.
	if results["a=1"] != 0 || results["broken"] != 1 {
		t.Fatalf("tx results %v", results)
	}
	if got := m.app.value("genesis"); got != "yes" {
		t.Fatalf("genesis app state not applied: %q", got)
	}

	st, err := n.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.LatestHeight < 6 || st.EarliestHeight != 1 || st.CatchingUp || st.ChainID != "ledgerscope-solo" ||
		st.VotingPower != 1 || len(st.Validators) != 1 || st.NodeID != n.NodeID() {
		t.Fatalf("status %+v", st)
	}

	// A height far ahead waits until the context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := n.Block(ctx, st.LatestHeight+1000); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("far height: %v", err)
	}
	if _, err := n.Block(context.Background(), 0); !errors.Is(err, ErrInvalidHeight) {
		t.Fatalf("height 0: %v", err)
	}

	// A waiting reader is released when the node stops.
	waiting := make(chan error, 1)
	go func() {
		_, err := n.Block(context.Background(), st.LatestHeight+1000)
		waiting <- err
	}()
	if err := n.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := <-waiting; !errors.Is(err, ErrStopped) {
		t.Fatalf("waiting reader after stop: %v", err)
	}
	if _, err := n.Block(context.Background(), 1); !errors.Is(err, ErrStopped) {
		t.Fatalf("read after stop: %v", err)
	}
}

// TestRestartReplaysWhatTheAppMissed stops a validator, rolls its application back to
// an older committed state, as after a crash that lost the app's last writes, and
// restarts it from the same home in the same process: CometBFT's handshake replays
// the stored blocks the app missed and the chain continues.
func TestRestartReplaysWhatTheAppMissed(t *testing.T) {
	m := newSingle(t)
	m.start(t)
	if _, err := m.node.SubmitTx([]byte("k=v1")); err != nil {
		t.Fatal(err)
	}
	block(t, m.node, 3, 20*time.Second)
	snapshot, err := os.ReadFile(m.statePath())
	if err != nil {
		t.Fatal(err)
	}
	var old kvState
	if err := json.Unmarshal(snapshot, &old); err != nil {
		t.Fatal(err)
	}
	if _, err := m.node.SubmitTx([]byte("k=v2")); err != nil {
		t.Fatal(err)
	}
	before := map[int64]*CommittedBlock{}
	last := old.Height + 5
	for h := int64(1); h <= last; h++ {
		before[h] = block(t, m.node, h, 20*time.Second)
	}
	if err := m.node.Stop(); err != nil {
		t.Fatal(err)
	}
	stored := m.app.height()
	if err := os.WriteFile(m.statePath(), snapshot, 0o600); err != nil {
		t.Fatal(err)
	}

	m.start(t)
	// The handshake ran inside Start: the app is back at the stored height, with the
	// same hashes as the first time.
	if got := m.app.height(); got < stored {
		t.Fatalf("after restart the app is at %d, the store at %d", got, stored)
	}
	for h := old.Height + 1; h <= stored; h++ {
		if !bytes.Equal(m.app.hashAt(h), before[h].AppHash) {
			t.Fatalf("replayed height %d: app hash %X, first run %X", h, m.app.hashAt(h), before[h].AppHash)
		}
	}
	for h := int64(1); h <= last; h++ {
		sameBlock(t, before[h], block(t, m.node, h, 10*time.Second))
	}
	block(t, m.node, stored+3, 20*time.Second)
	if got := m.app.value("k"); got != "v2" {
		t.Fatalf("k = %q after replay", got)
	}
}

// TestTamperedAppStateIsDetected edits the application's stored state behind its
// back: on restart its app hash contradicts the chain and Start refuses.
func TestTamperedAppStateIsDetected(t *testing.T) {
	m := newSingle(t)
	m.start(t)
	block(t, m.node, 3, 20*time.Second)
	if err := m.node.Stop(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(m.statePath())
	if err != nil {
		t.Fatal(err)
	}
	var st kvState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	st.Data["balance"] = "1000000"
	if b, err = json.Marshal(st); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.statePath(), b, 0o600); err != nil {
		t.Fatal(err)
	}
	app, err := newKVApp(m.statePath())
	if err != nil {
		t.Fatal(err)
	}
	n, err := Start(context.Background(), m.cfg, app)
	if err == nil {
		_ = n.Stop()
		t.Fatal("node started on tampered state")
	}
	if !errors.Is(err, ErrAppHashMismatch) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("want a one-line ErrAppHashMismatch, got %v", err)
	}
	t.Log(err)
	// The failed start released the home: the honest state starts again.
	if err := os.WriteFile(m.statePath(), mustMarshalState(t, m.statePath(), "balance"), 0o600); err != nil {
		t.Fatal(err)
	}
	m.start(t)
	block(t, m.node, app.height()+2, 20*time.Second)
}

// mustMarshalState returns the state file at path without key.
func mustMarshalState(t testing.TB, path, key string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st kvState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	delete(st.Data, key)
	if b, err = json.Marshal(st); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNetwork runs three validators in this process and full nodes that join them.
func TestNetwork(t *testing.T) {
	net := newNetwork(t, 3)
	v0 := net.vals[0].node
	for _, tx := range []string{"x=1", "y=2", "nonsense"} {
		if _, err := v0.SubmitTx([]byte(tx)); err != nil {
			t.Fatal(err)
		}
	}
	block(t, v0, 6, 60*time.Second)

	t.Run("full node joins late, block-syncs and agrees at every height", func(t *testing.T) {
		fm := net.newFullNode(t, "full")
		fm.start(t)
		full := fm.node
		st, err := v0.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		target := st.LatestHeight + 2
		for h := int64(1); h <= target; h++ {
			tip := block(t, full, h, 60*time.Second)
			sameBlock(t, block(t, v0, h, 10*time.Second), tip)
			if !bytes.Equal(fm.app.hashAt(h), tip.AppHash) {
				t.Fatalf("height %d: full node's app returned %X, chain has %X", h, fm.app.hashAt(h), tip.AppHash)
			}
		}
		// The blocks with the three transactions came by block sync, past Preverify.
		if n := fm.app.preverifiedTxs(); n != 3 {
			t.Errorf("block sync offered Preverify %d transactions, want the 3 submitted", n)
		}
		fst := waitCaughtUp(t, full, 30*time.Second)
		if fst.VotingPower != 0 || len(fst.Validators) != 3 || len(fst.Peers) != 3 {
			t.Fatalf("full node status %+v", fst)
		}

		// Restarted from its home, it resumes and keeps agreeing.
		if err := full.Stop(); err != nil {
			t.Fatal(err)
		}
		fm.start(t)
		for h := target + 1; h <= target+3; h++ {
			sameBlock(t, block(t, v0, h, 30*time.Second), block(t, fm.node, h, 30*time.Second))
		}
	})

	t.Run("rpc source yields the same blocks", func(t *testing.T) {
		src, err := NewRPCSource(RPCSourceConfig{Remote: strings.Replace(net.vals[0].cfg.RPCListen, "tcp://", "http://", 1), PollInterval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		st, err := v0.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// Up to two heights beyond the tip, so the remote reader has to wait.
		for h := int64(1); h <= st.LatestHeight+2; h++ {
			sameBlock(t, block(t, v0, h, 30*time.Second), block(t, src, h, 30*time.Second))
		}
		rst, err := src.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		est, err := v0.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if rst.NodeID != est.NodeID || rst.ChainID != est.ChainID || len(rst.Validators) != len(est.Validators) ||
			!bytes.Equal(rst.ValidatorAddress, est.ValidatorAddress) || rst.VotingPower != est.VotingPower ||
			rst.EarliestHeight != est.EarliestHeight {
			t.Fatalf("rpc status %+v\nembedded status %+v", rst, est)
		}
		for i := range rst.Validators {
			if !bytes.Equal(rst.Validators[i].PubKey, est.Validators[i].PubKey) {
				t.Fatalf("validator %d differs", i)
			}
		}
		if _, err := src.Block(context.Background(), 0); !errors.Is(err, ErrInvalidHeight) {
			t.Fatalf("height 0: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if _, err := src.Block(ctx, est.LatestHeight+1000); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("far height: %v", err)
		}
	})

	t.Run("divergent full node halts in block sync", func(t *testing.T) {
		fm := net.newFullNode(t, "skewed-sync")
		app, err := newKVApp(fm.statePath())
		if err != nil {
			t.Fatal(err)
		}
		app.skewFrom.Store(1)
		fm.app, fm.node = app, startNode(t, fm.cfg, app)
		err = waitStopped(t, fm.node, 60*time.Second)
		if !errors.Is(err, ErrAppHashMismatch) || !strings.Contains(err.Error(), "block sync") {
			t.Fatalf("want an app hash mismatch in block sync, got %v", err)
		}
		if _, berr := fm.node.Block(context.Background(), 1000); !errors.Is(berr, ErrStopped) || !errors.Is(berr, ErrAppHashMismatch) {
			t.Fatalf("read from halted node: %v", berr)
		}
		if serr := fm.node.Stop(); !errors.Is(serr, ErrAppHashMismatch) {
			t.Fatalf("stop of halted node: %v", serr)
		}
	})

	t.Run("divergent full node halts in consensus", func(t *testing.T) {
		fm := net.newFullNode(t, "skewed-live")
		fm.start(t)
		st := waitCaughtUp(t, fm.node, 60*time.Second)
		from := st.LatestHeight + 2
		fm.app.skewFrom.Store(from)
		err := waitStopped(t, fm.node, 60*time.Second)
		if !errors.Is(err, ErrAppHashMismatch) || strings.Contains(err.Error(), "block sync") {
			t.Fatalf("want an app hash mismatch in consensus, got %v", err)
		}
		if h := fm.app.height(); h != from {
			t.Fatalf("halted after committing height %d, want %d", h, from)
		}
	})

	// The validators were unaffected by the halted full nodes.
	st, err := v0.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	block(t, v0, st.LatestHeight+2, 30*time.Second)
	for _, m := range net.vals {
		if err := m.node.Err(); err != nil {
			t.Fatalf("%s: %v", m.cfg.Moniker, err)
		}
	}
}

// waitCaughtUp waits until n has left block sync and returns its status.
func waitCaughtUp(t testing.TB, n *Node, timeout time.Duration) Status {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, err := n.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !st.CatchingUp && st.LatestHeight > 0 && len(st.Peers) > 0 {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("still catching up after %s: %+v", timeout, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
