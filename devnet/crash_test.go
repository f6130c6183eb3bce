package devnet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ledgerscope/ledgerscope/devnet"
	"github.com/ledgerscope/ledgerscope/devnet/devnettest"
	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/node"
)

// The crash test runs a validator in a child process (this test binary, re-executed) with
// CometBFT's FAIL_TEST_INDEX set, so the child exits at one of the crash points CometBFT marks
// in its commit path: before and after the block is stored, after the FinalizeBlock response
// is saved, after the app's Commit, after the state is saved. The parent then restarts the node
// from the same home and checks that every block's app hash equals a clean re-execution.

const crashChildEnv = "LEDGERSCOPE_CRASH_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(crashChildEnv); spec != "" {
		runCrashChild(spec)
		return
	}
	os.Exit(m.Run())
}

type crashSpec struct {
	Home    string
	Port    int
	Seconds int
}

// runCrashChild runs a one-validator devnet with traffic until CometBFT's fail point exits the
// process, or until the time runs out.
func runCrashChild(spec string) {
	var s crashSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		panic(err)
	}
	opts := crashOptions(s.Home, s.Port)
	ctx := context.Background()
	dn, err := devnet.Start(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child start:", err)
		os.Exit(3)
	}
	sub := &submitter{n: dn.Members[0].Node, seed: opts.Seed, chain: dn.Meta.ChainID, nonces: map[ledger.Address]uint64{}}
	if err := sub.resync(dn.Members[0].App); err != nil {
		os.Exit(4)
	}
	end := time.Now().Add(time.Duration(s.Seconds) * time.Second)
	to := ledger.AddressOf(ledger.PubKeyOf(ledger.DemoKey(opts.Seed, "member/GTJA")))
	for time.Now().Before(end) {
		// Mints and transfers, so the crashed blocks change state.
		sub.try(&ledger.Mint{Asset: ledger.CoinSymbol, To: sub.addr("member/HTSC"), Amount: 100}, "member/BOCS")
		sub.try(&ledger.Transfer{To: to, Asset: ledger.CoinSymbol, Amount: 1}, "member/HTSC")
		time.Sleep(20 * time.Millisecond)
	}
	dn.Stop()
	os.Exit(0)
}

func crashOptions(home string, port int) devnet.Options {
	return devnet.Options{
		Home: home, Validators: 1, Seed: "crash", BasePort: port,
		Logger: devnettest.Logger(),
		Tune: func(c *node.Config) {
			c.TimeoutCommit = 100 * time.Millisecond
			c.CreateEmptyBlocksInterval = 0
		},
	}
}

func TestCrashPointsRecover(t *testing.T) {
	if testing.Short() {
		t.Skip("crash sweep is long")
	}
	for _, k := range []int{3, 5, 7, 9, 11, 13, 15, 17, 19, 21} {
		t.Run(fmt.Sprintf("fail-index=%d", k), func(t *testing.T) {
			home := t.TempDir()
			port := devnettest.FreeBasePort(t, 2)
			spec, _ := json.Marshal(crashSpec{Home: home, Port: port, Seconds: 20})
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), crashChildEnv+"="+string(spec), fmt.Sprintf("FAIL_TEST_INDEX=%d", k))
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("child did not crash at fail index %d:\n%s", k, out)
			}
			if !bytes.Contains(out, []byte("fail-test")) {
				t.Fatalf("child failed otherwise: %v\n%s", err, out)
			}
			verifyRestart(t, crashOptions(home, port))
		})
	}
}

// verifyRestart starts the crashed node again, lets it make a few blocks, and re-executes its
// whole chain in a fresh app: every block's app hash must match.
func verifyRestart(t *testing.T, opts devnet.Options) {
	t.Helper()
	ctx := context.Background()
	dn, err := devnet.Start(ctx, opts)
	if err != nil {
		t.Fatalf("restart after crash: %v", err)
	}
	defer dn.Stop()
	v := dn.Members[0]
	// A crash at an early fail point comes before the child's first transaction was
	// committed: the restarted node gets some, so that the re-execution below always covers
	// blocks that change the recovered state.
	sub := &submitter{n: v.Node, seed: opts.Seed, chain: dn.Meta.ChainID, nonces: map[ledger.Address]uint64{}}
	if err := sub.resync(v.App); err != nil {
		t.Fatal(err)
	}
	sub.try(&ledger.Mint{Asset: ledger.CoinSymbol, To: sub.addr("member/HTSC"), Amount: 100}, "member/BOCS")
	waitHeight(t, v.App, v.App.Height()+3)
	top := v.App.Height()

	fresh, err := ledger.NewApp(ledger.Config{Dir: filepath.Join(t.TempDir(), "fresh"), CheckInvariants: true})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	gen, err := dn.Genesis()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.InitChain(ctx, &abci.InitChainRequest{ChainId: gen.ChainID, AppStateBytes: gen.AppState, InitialHeight: 1, Time: gen.GenesisTime}); err != nil {
		t.Fatal(err)
	}
	txs := 0
	for h := int64(1); h <= top; h++ {
		b, err := v.Node.Block(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := fresh.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: h, Time: b.Time, Txs: b.Txs})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fresh.Commit(ctx, &abci.CommitRequest{}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(resp.AppHash, b.AppHash) {
			t.Fatalf("height %d: node app hash %X, clean re-execution %X", h, b.AppHash, resp.AppHash)
		}
		txs += len(b.Txs)
	}
	if txs == 0 {
		t.Fatal("the chain has no transactions: the crash proved nothing")
	}
}

func (s *submitter) addr(name string) ledger.Address {
	return ledger.AddressOf(ledger.PubKeyOf(ledger.DemoKey(s.seed, name)))
}

// resync reads the signers' committed nonces, for a child that restarts an existing chain.
func (s *submitter) resync(app *ledger.App) error {
	app.View(func(st *ledger.State) {
		for _, name := range []string{"member/BOCS", "member/HTSC"} {
			a := s.addr(name)
			if acc := st.Accounts[a]; acc != nil {
				s.nonces[a] = acc.Nonce
			}
		}
	})
	return nil
}

// try submits a tx and, if the mempool refuses it, gives its nonce back.
func (s *submitter) try(body ledger.Body, signer string) {
	k := ledger.DemoKey(s.seed, signer)
	a := ledger.AddressOf(ledger.PubKeyOf(k))
	s.nonces[a]++
	raw := (&ledger.Tx{ChainID: s.chain, Nonce: s.nonces[a], Body: body}).Sign(k)
	if res, err := s.n.SubmitTx(raw); err != nil || res.Code != 0 {
		s.nonces[a]--
	}
}
