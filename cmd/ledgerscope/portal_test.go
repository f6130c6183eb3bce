package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/devnet"
	"github.com/ledgerscope/ledgerscope/loadgen"
	"github.com/ledgerscope/ledgerscope/node"
	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

// lockedBuffer is a bytes.Buffer that a running command writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runningPortal is a `ledgerscope portal` (or sync) command running in the background.
type runningPortal struct {
	out    *lockedBuffer
	cancel context.CancelFunc
	done   chan error
}

// startCmd runs the command that newCmd makes with args in the background.
func startCmd(ctx context.Context, newCmd func() *cobra.Command, args ...string) *runningPortal {
	ctx, cancel := context.WithCancel(ctx)
	r := &runningPortal{out: &lockedBuffer{}, cancel: cancel, done: make(chan error, 1)}
	cmd := newCmd()
	cmd.SetOut(r.out)
	cmd.SetErr(r.out)
	cmd.SetArgs(args)
	go func() { r.done <- cmd.ExecuteContext(ctx) }()
	return r
}

// stop stops the command as Ctrl-C does and fails the test if it did not stop cleanly.
func (r *runningPortal) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("portal: %v\n%s", err, r.out)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("portal did not stop\n%s", r.out)
	}
	if !strings.Contains(r.out.String(), "portal stopping") {
		t.Fatalf("portal stopped without saying so:\n%s", r.out)
	}
}

// submitPhases sends each phase to the validator and waits for it to commit before the next,
// since CheckTx rejects transactions of accounts not yet registered; it returns the height at
// which the last one committed.
func submitPhases(ctx context.Context, t *testing.T, v *devnet.Member, phases [][][]byte) int64 {
	t.Helper()
	var top int64
	for _, phase := range phases {
		from := v.App.Height() + 1
		for _, raw := range phase {
			if res, err := v.Node.SubmitTx(raw); err != nil || res.Code != 0 {
				t.Fatalf("submit: %v %v", err, res)
			}
		}
		seen := 0
		for h := from; seen < len(phase); h++ {
			b, err := v.Node.Block(ctx, h)
			if err != nil {
				t.Fatalf("waiting for %d txs: %v", len(phase), err)
			}
			seen += len(b.Txs)
			top = h
		}
	}
	return top
}

// waitSynced waits until the database's cursor reaches height h, failing on a halted portal.
func waitSynced(ctx context.Context, t *testing.T, db *store.DB, r *runningPortal, h int64) {
	t.Helper()
	for {
		var cur int64
		err := db.Pool.QueryRow(ctx, "SELECT height FROM sync_cursor").Scan(&cur)
		if err == nil && cur >= h {
			return
		}
		select {
		case err := <-r.done:
			t.Fatalf("portal ended before height %d: %v\n%s", h, err, r.out)
		case <-ctx.Done():
			t.Fatalf("height %d not synced (cursor %d, %v)\n%s", h, cur, err, r.out)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// checkDatabase compares PostgreSQL with the node at nodeRPC up to height h: every block once,
// its hash as the node has it, and every transaction submitted (failed ones included).
func checkDatabase(ctx context.Context, t *testing.T, db *store.DB, nodeRPC string, h int64, wantTxs int) {
	t.Helper()
	var blocks, top, txs int64
	q := "SELECT count(*), max(height), (SELECT count(*) FROM transactions WHERE height <= $1) FROM blocks WHERE height <= $1"
	if err := db.Pool.QueryRow(ctx, q, h).Scan(&blocks, &top, &txs); err != nil {
		t.Fatal(err)
	}
	if blocks != h || top != h || txs != int64(wantTxs) {
		t.Fatalf("up to height %d: %d blocks (top %d), %d txs; want %d blocks and %d txs", h, blocks, top, txs, h, wantTxs)
	}
	src, err := node.NewRPCSource(node.RPCSourceConfig{Remote: nodeRPC})
	if err != nil {
		t.Fatal(err)
	}
	b, err := src.Block(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	var hash []byte
	if err := db.Pool.QueryRow(ctx, "SELECT hash FROM blocks WHERE height = $1", h).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(hash, b.Hash) {
		t.Fatalf("block %d: database %X, node %X", h, hash, b.Hash)
	}
}

// TestPortalFollowsDevnet runs `ledgerscope portal --from-devnet` as a newcomer would against
// a running one-validator devnet: its full node block-syncs and re-executes the chain, the
// sync writes it into a fresh database, and the transactions submitted to the validator are in
// PostgreSQL at the portal node's height. Stopped and started again with --home alone, it
// resumes at the height it had and catches up on what was committed meanwhile, with no block
// written twice.
func TestPortalFollowsDevnet(t *testing.T) {
	ctx, opts, dn := testDevnet(t, 90*time.Second)
	v0 := dn.Members[0]
	tr := testTraffic(t, opts, dn)
	url := pgtest.URL(t)
	t.Setenv("DATABASE_URL", url)
	db, err := store.Open(ctx, store.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// The port slot after the validators is one devnettest made sure is free.
	port := dn.Meta.P2PPort(dn.Meta.Validators + 1)
	rpcAddr := fmt.Sprintf("127.0.0.1:%d", port+1)
	home := filepath.Join(t.TempDir(), "portal")
	// The devnet's demo watch list, as make run's load generator leaves it: the portal
	// uploads it to its own database.
	var list bytes.Buffer
	if err := loadgen.WriteWatchEntries(&list, watchlistOf(t, dn, opts.Seed, 1)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(opts.Home, "watchlist.csv"), list.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	first := startCmd(ctx, newPortalCmd, "--home", home, "--from-devnet", opts.Home,
		"--p2p-listen", fmt.Sprintf("tcp://127.0.0.1:%d", port), "--rpc-listen", "tcp://"+rpcAddr,
		"--report-every", "200ms", "--http-listen", "127.0.0.1:0")
	half := len(tr.Load) / 2
	top := submitPhases(ctx, t, v0, append(tr.Setup, tr.Load[:half]))
	want := half
	for _, p := range tr.Setup {
		want += len(p)
	}
	waitSynced(ctx, t, db, first, top)
	checkDatabase(ctx, t, db, "http://"+rpcAddr, top, want)
	first.stop(t)
	out := first.out.String()
	for _, s := range []string{"portal on chain " + dn.Meta.ChainID, "(first start)", "node id", "http://" + rpcAddr,
		"PostgreSQL", "peers 1", "; synced ", "watch list", "version 1, uploaded"} {
		if !strings.Contains(out, s) {
			t.Errorf("first run's output lacks %q:\n%s", s, out)
		}
	}

	// Committed while the portal is down.
	firstTop := top
	top = submitPhases(ctx, t, v0, [][][]byte{tr.Load[half:]})
	want += len(tr.Load) - half

	// The second start prunes what the sync has written, keeping the last 3 blocks.
	second := startCmd(ctx, newPortalCmd, "--home", home, "--report-every", "200ms", "--retain-blocks", "3", "--http-listen", "127.0.0.1:0")
	waitSynced(ctx, t, db, second, top)
	checkDatabase(ctx, t, db, "http://"+rpcAddr, top, want)
	waitPruned(ctx, t, db, "http://"+rpcAddr)
	second.stop(t)
	out = second.out.String()
	m := regexp.MustCompile(`resumed at height (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("second run did not resume:\n%s", out)
	}
	// The first run's node held at least the height its blocks were synced to.
	if h, _ := strconv.ParseInt(m[1], 10, 64); h < firstTop {
		t.Errorf("resumed at height %d, below the %d the first run had synced", h, firstTop)
	}
	t.Logf("second run:\n%s", out)

	// `ledgerscope sync` is the same worker without the node, following the validator's RPC:
	// its database ends with the same rows.
	rurl := pgtest.URL(t)
	t.Setenv("DATABASE_URL", rurl)
	rdb, err := store.Open(ctx, store.Config{URL: rurl})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	sync := startCmd(ctx, newSyncCmd, "--node-rpc", dn.RPC(), "--report-every", "200ms")
	waitSynced(ctx, t, rdb, sync, top)
	checkDatabase(ctx, t, rdb, dn.RPC(), top, want)
	sync.stop(t)
	if out := sync.out.String(); !strings.Contains(out, "following      "+dn.RPC()) {
		t.Errorf("sync's output lacks the node it follows:\n%s", out)
	}
}

// TestPortalFlags checks the combinations that cannot work fail before anything starts.
func TestPortalFlags(t *testing.T) {
	empty := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--no-node", "--no-sync"}, "nothing to run"},
		{[]string{"--no-node"}, "needs --node-rpc"},
		{[]string{"--node-rpc", "http://127.0.0.1:1"}, "is for --no-node"},
		{[]string{"--no-node", "--node-rpc", "http://127.0.0.1:1", "--from-devnet", empty}, "--from-devnet starts a node"},
		{[]string{"--home", empty}, "holds no node yet"},
		{[]string{"--from-devnet", empty, "--home", filepath.Join(empty, "p")}, "no devnet there"},
		{[]string{"--home", empty, "--report-every", "0s"}, "--report-every must be positive"},
		{[]string{"--home", empty, "--retain-blocks", "-1"}, "--retain-blocks must be 0"},
		{[]string{"--home", empty, "--retain-blocks", "5", "--no-sync"}, "needs both the node and the sync"},
	}
	for _, tt := range tests {
		cmd := newPortalCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(tt.args)
		err := cmd.ExecuteContext(context.Background())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.args, err, tt.want)
		}
	}
}

// waitPruned waits until the node's block store starts above height 1 and at or below the
// block after the synced one: it pruned, and kept what the sync had not read. CometBFT
// prunes every 10 s.
func waitPruned(ctx context.Context, t *testing.T, db *store.DB, rpc string) {
	t.Helper()
	c, err := rpchttp.New(rpc)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(45 * time.Second)
	for {
		st, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var synced int64
		if err := db.Pool.QueryRow(ctx, "SELECT height FROM sync_cursor").Scan(&synced); err != nil {
			t.Fatal(err)
		}
		base := st.SyncInfo.EarliestBlockHeight
		if base > synced+1 {
			t.Fatalf("node pruned to %d, past the synced height %d", base, synced)
		}
		if base > 1 {
			t.Logf("node pruned: its blocks start at %d, synced %d", base, synced)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node still starts at block %d after 45 s with --retain-blocks 3 (synced %d)", base, synced)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
