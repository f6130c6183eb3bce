package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// miniNode stands in for CometBFT: CheckTx admits transactions to a mempool, and every
// interval the whole mempool becomes a block at the wall-clock time.
type miniNode struct {
	t      *testing.T
	mu     sync.Mutex
	app    *ledger.App
	pool   [][]byte
	height int64
	codes  map[ledger.Code]int
	failed []string
}

func startMiniNode(t *testing.T, interval time.Duration) *miniNode {
	t.Helper()
	c := newChain(t, time.Now().Add(-time.Second))
	n := &miniNode{t: t, app: c.app, codes: map[ledger.Code]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				n.block()
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return n
}

func (n *miniNode) submit(tx []byte) (*abci.CheckTxResponse, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	res, err := n.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: tx})
	if err == nil && res.Code == 0 {
		n.pool = append(n.pool, tx)
	}
	return res, err
}

func (n *miniNode) block() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.height++
	txs := n.pool
	n.pool = nil
	resp, err := n.app.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{Height: n.height, Time: time.Now(), Txs: txs})
	if err == nil {
		_, err = n.app.Commit(context.Background(), &abci.CommitRequest{})
	}
	if err != nil {
		n.t.Errorf("block %d: %v", n.height, err)
		return
	}
	for _, r := range resp.TxResults {
		n.codes[ledger.Code(r.Code)]++
		if r.Code != 0 && len(n.failed) < 10 {
			n.failed = append(n.failed, r.Log)
		}
	}
}

func TestRunPacesAndResyncs(t *testing.T) {
	node := startMiniNode(t, 100*time.Millisecond)
	g, err := New(Config{
		ChainID: testChainID, DemoSeed: testDemoSeed, Seed: 3, Clock: WallClock{},
		Population: 150, Violations: 0.01, Session: AlwaysOpen, ActivationDelay: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The node loses one of the gateway's reward mints once the setup is done (a mempool
	// eviction, say): the gateway's next transactions leave a gap and are refused, and the run
	// must read the nonce back, send them again and carry on, leaving no settlement
	// unconfirmed.
	start := time.Now()
	var lost atomic.Bool
	submit := func(raw []byte) (*abci.CheckTxResponse, error) {
		if time.Since(start) > 2500*time.Millisecond && !lost.Load() {
			tx, err := ledger.DecodeTx(raw)
			if err == nil && tx.Body.Type() == ledger.TxMint && tx.Signer() == g.members["UPGW"].addr && lost.CompareAndSwap(false, true) {
				return &abci.CheckTxResponse{}, nil
			}
		}
		return node.submit(raw)
	}

	var truth bytes.Buffer
	const rate = 1000
	stats, err := Run(context.Background(), RunConfig{
		Rate: rate, Duration: 4 * time.Second, Querier: AppQuerier{node.app},
		Logger: slog.New(slog.DiscardHandler),
	}, g, CheckTxFunc(submit), &truth)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the last block
	node.mu.Lock()
	defer node.mu.Unlock()
	t.Logf("stats %+v; in blocks %v; failures %q", stats, node.codes, node.failed)

	if !lost.Load() || stats.Resyncs == 0 || stats.ByCode[ledger.CodeBadNonce.String()] == 0 {
		t.Errorf("no nonce gap, refusal and resynchronisation: lost %v, %+v", lost.Load(), stats)
	}
	if stats.Rejected > stats.Submitted/100 {
		t.Errorf("%d of %d rejected", stats.Rejected, stats.Submitted)
	}
	// The bucket admits a second's burst; the setup phase comes in large steps. The lower
	// bound catches a stall, not a slow machine.
	if stats.Rate < rate*0.3 || stats.Rate > rate*1.6 {
		t.Errorf("achieved %.0f tx/s, target %d", stats.Rate, rate)
	}
	if stats.Elapsed > 20*time.Second {
		t.Errorf("the run with its drain took %v", stats.Elapsed)
	}
	var ok, all int
	for code, n := range node.codes {
		all += n
		if code == ledger.CodeOK || code == ledger.CodeSignerFrozen || code == ledger.CodeAccountFrozen {
			ok += n
		}
	}
	if all == 0 || float64(ok)/float64(all) < 0.99 {
		t.Errorf("in blocks: %v", node.codes)
	}
	// The drain left no gateway settlement open.
	node.app.View(func(st *ledger.State) {
		for id, se := range st.Settlements {
			if se.State == ledger.SettlementLocked && se.Deadline > time.Now().Unix()+600 {
				t.Errorf("settlement %s still locked after the drain", id)
			}
		}
	})
	lines := bytes.Count(truth.Bytes(), []byte("\n"))
	if int64(lines) != stats.TruthLines {
		t.Errorf("%d truth lines written, stats say %d", lines, stats.TruthLines)
	}
	for _, line := range bytes.Split(bytes.TrimSpace(truth.Bytes()), []byte("\n")) {
		var l Label
		if len(line) > 0 {
			if err := json.Unmarshal(line, &l); err != nil || l.Scenario == "" {
				t.Fatalf("truth line %q: %v", line, err)
			}
		}
	}
}

func TestResyncNonce(t *testing.T) {
	g := testGenerator(t, 1, 0, NewSimClock(DefaultStart))
	g.Next(100) // the stream is under way: transactions 1 to 100 or so exist
	a := g.members["UPGW"]
	tests := []struct {
		name                     string
		next, expected, rejected uint64
		seq                      uint64
		wantNext                 uint64
		changed                  bool
	}{
		// Someone else used nonce 5: the generator, at 9, is ahead already.
		{"taken, ahead", 9, 6, 5, 10, 9, false},
		// Someone else used nonces 5 to 11: skip past them.
		{"taken, behind", 9, 12, 5, 10, 11, true},
		// Nonce 5 was lost: go back to it.
		{"lost", 9, 5, 7, 10, 4, true},
		// A refusal of a transaction generated before that rewind is stale.
		{"stale", 4, 5, 8, 10, 4, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.nonce = tt.next
			if got := g.ResyncNonce(a.addr, tt.expected, tt.rejected, tt.seq); got != tt.changed || a.nonce != tt.wantNext {
				t.Errorf("changed %v, next %d; want %v, %d", got, a.nonce, tt.changed, tt.wantNext)
			}
		})
	}
}

func TestRunStopsWithContext(t *testing.T) {
	g := testGenerator(t, 4, 0, NewSimClock(DefaultStart))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	accept := CheckTxFunc(func([]byte) (*abci.CheckTxResponse, error) { return &abci.CheckTxResponse{}, nil })
	start := time.Now()
	stats, err := Run(ctx, RunConfig{Rate: 1000, Logger: slog.New(slog.DiscardHandler)}, g, accept, nil)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("run took %v after its context ended", el)
	}
	if stats.Accepted == 0 {
		t.Error("nothing submitted")
	}
}

func TestRunRetriesFullMempool(t *testing.T) {
	g := testGenerator(t, 5, 0, NewSimClock(DefaultStart))
	var mu sync.Mutex
	seen := map[string]int{}
	full := 0
	sub := CheckTxFunc(func(tx []byte) (*abci.CheckTxResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		if full < 3 {
			full++
			return nil, errors.New("mempool is full: test") // not the mempool's type: not retried
		}
		seen[string(tx)]++
		return &abci.CheckTxResponse{}, nil
	})
	stats, err := Run(context.Background(), RunConfig{Rate: 500, Duration: 200 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler), DrainTimeout: -1}, g, sub, nil)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Unchecked != 3 {
		t.Errorf("unchecked %d, want the 3 refused", stats.Unchecked)
	}

	// A Submitter reporting ErrMempoolFull gets the same transactions again, in order.
	g = testGenerator(t, 5, 0, NewSimClock(DefaultStart))
	var order [][]byte
	refusals := 0
	fullSub := submitFunc(func(_ context.Context, txs [][]byte) ([]Outcome, error) {
		out := make([]Outcome, len(txs))
		refuse := refusals < 2 && len(txs) > 1
		if refuse {
			refusals++
		}
		for i, tx := range txs {
			if refuse && i >= len(txs)/2 {
				out[i] = Outcome{Err: ErrMempoolFull}
				continue
			}
			order = append(order, tx)
		}
		return out, nil
	})
	stats, err = Run(context.Background(), RunConfig{Rate: 500, Duration: 200 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler), DrainTimeout: -1}, g, fullSub, nil)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Retries != 2 || stats.Unchecked != 0 {
		t.Errorf("retries %d unchecked %d, want 2 and 0", stats.Retries, stats.Unchecked)
	}
	last := map[ledger.Address]uint64{}
	for _, raw := range order {
		tx, err := ledger.DecodeTx(raw)
		if err != nil {
			t.Fatal(err)
		}
		if tx.Nonce != last[tx.Signer()]+1 {
			t.Fatalf("signer %s: nonce %d after %d", tx.Signer(), tx.Nonce, last[tx.Signer()])
		}
		last[tx.Signer()] = tx.Nonce
	}
}

type submitFunc func(context.Context, [][]byte) ([]Outcome, error)

func (f submitFunc) Submit(ctx context.Context, txs [][]byte) ([]Outcome, error) { return f(ctx, txs) }
