package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/devnet"
	"github.com/ledgerscope/ledgerscope/devnet/devnettest"
	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/node"
)

// spreadSubmitter hands each signer's transactions to one validator of several, chosen by the
// signer's address, so that transactions of different signers reach the proposer by different
// gossip paths while each signer's nonces stay in order at its own entry point. It remembers
// the highest nonce each signer had admitted.
type spreadSubmitter struct {
	nodes []CheckTxFunc
	apps  []AppQuerier

	mu       sync.Mutex
	admitted map[ledger.Address]uint64
}

func (s *spreadSubmitter) Submit(ctx context.Context, txs [][]byte) ([]Outcome, error) {
	out := make([]Outcome, 0, len(txs))
	for _, raw := range txs {
		dtx, err := ledger.DecodeTx(raw)
		if err != nil {
			return out, fmt.Errorf("decode generated tx: %w", err)
		}
		signer := dtx.Signer()
		o, err := s.nodes[s.entry(signer)].Submit(ctx, [][]byte{raw})
		out = append(out, o...)
		if err != nil {
			return out, err
		}
		if o[0].Err == nil && o[0].Code == 0 {
			s.mu.Lock()
			s.admitted[signer] = max(s.admitted[signer], dtx.Nonce)
			s.mu.Unlock()
		}
	}
	return out, nil
}

func (s *spreadSubmitter) entry(a ledger.Address) int { return int(a[0]) % len(s.nodes) }

// Query answers an account query from the validator the account's transactions enter at, as
// a client asks the node it submits to: a lagging validator's nonce would send the run's
// nonce resynchronisation back over transactions that validator has not committed yet.
func (s *spreadSubmitter) Query(ctx context.Context, path string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(path, "/account/"); ok {
		if a, err := ledger.ParseAddress(rest); err == nil {
			return s.apps[s.entry(a)].Query(ctx, path)
		}
	}
	return s.apps[0].Query(ctx, path)
}

// TestRunOnFourValidators runs the generator, with violation scenarios, against a real
// four-validator devnet in this process, each signer's transactions entering at a validator of
// its own, and then reads every committed block: the transactions of different signers reach
// the proposer by different paths, in any order, yet every clean transaction must succeed and
// every scenario transaction have the outcome its label says, because Run submits a
// transaction only once the other signers' transactions it needs are in a block.
func TestRunOnFourValidators(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a four-validator devnet")
	}
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	dn, err := devnet.Start(ctx, devnet.Options{
		Home: t.TempDir(), Validators: 4, Seed: testDemoSeed, BasePort: devnettest.FreeBasePort(t, 6), Logger: quiet,
		Tune: func(c *node.Config) { c.TimeoutCommit = 150 * time.Millisecond },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dn.Stop()
	v0 := dn.Members[0]
	q := AppQuerier{App: v0.App}
	sub := &spreadSubmitter{admitted: map[ledger.Address]uint64{}}
	for _, m := range dn.Members {
		sub.nodes = append(sub.nodes, CheckTxFunc(m.Node.SubmitTx))
		sub.apps = append(sub.apps, AppQuerier{App: m.App})
	}

	g, err := New(Config{
		ChainID: dn.Meta.ChainID, DemoSeed: dn.Meta.Seed, Seed: 1, Clock: WallClock{},
		Population: 150, Violations: 0.01, Session: AlwaysOpen,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.SyncSigners(ctx, q); err != nil {
		t.Fatal(err)
	}
	var truth bytes.Buffer
	const rate = 300
	stats, err := Run(ctx, RunConfig{
		Rate: rate, Duration: 20 * time.Second, DrainTimeout: 15 * time.Second, Querier: sub,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}, g, sub, &truth)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stats %+v", stats)

	// Wait for every admitted transaction to be in a block.
	deadline := time.Now().Add(20 * time.Second)
	sub.mu.Lock()
	for signer, nonce := range sub.admitted {
		for {
			v, err := queryJSON[accountView](ctx, sub, "/account/"+signer.String())
			if err == nil && v.Nonce >= nonce {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("signer %s: nonce %d admitted, not in a block (%+v, %v)", signer, nonce, v, err)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	sub.mu.Unlock()

	// What each labelled transaction should do: the FROZEN attempts fail with the code their
	// label names; every other transaction succeeds.
	expect := map[string]string{}
	labelled := map[string]bool{}
	for _, line := range bytes.Split(bytes.TrimSpace(truth.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var l Label
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatalf("truth line %q: %v", line, err)
		}
		h := strings.ToUpper(l.Tx)
		labelled[h] = true
		if _, after, ok := strings.Cut(l.Detail, "expect="); ok && l.Scenario == ScenarioFrozen {
			expect[h] = strings.Fields(after)[0]
		}
	}

	// Each transaction is judged once, by its outcomes in all blocks: CometBFT's mempool
	// sometimes puts a signer's nonce n+1 before n in a block (see sequencer), where it fails
	// with bad_nonce, and Run sends it again; its second copy is the one that counts. The same
	// bytes can succeed only once, their nonce being spent then, so any other copy of them in
	// a block failed with bad_nonce, changing nothing.
	type outcome struct {
		typ   string
		good  bool
		spent int // executions that spent the nonce: all but bad_nonce
		seen  []string
	}
	outcomes := map[string]*outcome{}
	var order []string
	var copies int
	for h := int64(1); h <= v0.App.Height(); h++ {
		b, err := v0.Node.Block(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		for i, raw := range b.Txs {
			hash := ledger.TxHash(raw).String()
			want, ok := expect[hash]
			if !ok {
				want = ledger.CodeOK.String()
			}
			got := ledger.Code(b.TxResults[i].Code).String()
			o := outcomes[hash]
			if o == nil {
				o = &outcome{typ: "?"}
				if dtx, err := ledger.DecodeTx(raw); err == nil {
					o.typ = dtx.Body.Type().String()
				}
				outcomes[hash] = o
				order = append(order, hash)
			} else {
				copies++
			}
			o.good = o.good || got == want
			o.seen = append(o.seen, fmt.Sprintf("block %d: %s (%s), want %s", h, got, b.TxResults[i].Log, want))
			if got != ledger.CodeBadNonce.String() {
				if o.spent++; o.spent == 2 {
					t.Errorf("%s executed twice: %v", hash, o.seen)
				}
			}
		}
	}
	var good, scenarioTxs, scenarioGood int
	byOutcome := map[string]int{}
	for _, hash := range order {
		o := outcomes[hash]
		if labelled[hash] {
			scenarioTxs++
		}
		if o.good {
			good++
			if labelled[hash] {
				scenarioGood++
			}
			continue
		}
		byOutcome[o.typ]++
		if len(byOutcome) < 20 {
			t.Logf("%s %s: %v", o.typ, hash, o.seen)
		}
	}
	total := len(order)
	share := float64(good) / float64(max(total, 1))
	t.Logf("%d txs in %d blocks (%d second copies), %.4f as expected (labelled %d/%d); unexpected by type %v",
		total, v0.App.Height(), copies, share, scenarioGood, scenarioTxs, byOutcome)
	if total < rate*10 {
		t.Errorf("only %d transactions in blocks", total)
	}
	if share < 0.999 {
		t.Errorf("%.4f of the committed transactions did what the generator expected, want at least 0.999", share)
	}
	if scenarioTxs == 0 {
		t.Error("no labelled scenario transaction in a block")
	}
	if stats.Held == 0 {
		t.Error("no transaction was held back for another signer's")
	}
	// Only a generator that stalls fails this: a loaded machine's four validators commit
	// well below the target, and speed is the benchmark's to measure.
	if stats.Rate < rate*0.3 {
		t.Errorf("achieved %.0f tx/s, target %d", stats.Rate, rate)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
