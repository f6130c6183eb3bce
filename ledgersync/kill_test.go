package ledgersync

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/node"
	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

// Environment of the child process that TestKilledMidSync starts and kills.
const (
	childBlocksEnv = "LEDGERSYNC_CHILD_BLOCKS"
	childDBEnv     = "LEDGERSYNC_CHILD_DB"
	childBatchEnv  = "LEDGERSYNC_CHILD_BATCH"
)

// fileSource serves blocks saved by the parent test, at a bounded pace so that the kills
// land during the sync on a fast machine too.
type fileSource struct{ blocks []*node.CommittedBlock }

// childBlockPace bounds the child's speed.
const childBlockPace = 10 * time.Millisecond

func (s *fileSource) Block(ctx context.Context, h int64) (*node.CommittedBlock, error) {
	if h >= 1 && h <= int64(len(s.blocks)) {
		time.Sleep(childBlockPace)
		return s.blocks[h-1], nil
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func (s *fileSource) Status(context.Context) (node.Status, error) {
	n := len(s.blocks)
	return node.Status{LatestHeight: int64(n), LatestTime: s.blocks[n-1].Time}, nil
}

// runChild is the child: sync the saved blocks into the database, then exit 0.
func runChild() int {
	f, err := os.Open(os.Getenv(childBlocksEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var blocks []*node.CommittedBlock
	if err := gob.NewDecoder(f).Decode(&blocks); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := store.Open(ctx, store.Config{URL: os.Getenv(childDBEnv)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer db.Close()
	batch, _ := strconv.Atoi(os.Getenv(childBatchEnv))
	g, err := GenesisRows(testChainID, genesisTime, demoGenesis())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	w, err := New(Config{Source: &fileSource{blocks}, DB: db, Genesis: g, MaxBatchBlocks: batch, CopyMinRows: 500})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	// The parent times its kill from here, so that slow starts do not skew where it lands.
	fmt.Println("ready")
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	for w.Metrics().SyncedHeight < int64(len(blocks)) {
		select {
		case err := <-done:
			fmt.Fprintln(os.Stderr, "worker stopped:", err)
			return 3
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	<-done
	return 0
}

// TestKilledMidSync kills a syncing child process with SIGKILL at random points 20 times,
// lets the last one finish, and compares the database table by table with a clean sync.
func TestKilledMidSync(t *testing.T) {
	src := newTestChain(t, 8)
	src.Run(260, 40)
	path := filepath.Join(t.TempDir(), "blocks.gob")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := gob.NewEncoder(f).Encode(src.blocks()); err != nil {
		t.Fatal(err)
	}
	f.Close()

	clean := pgtest.New(t)
	syncTo(t, clean, src, src.Height(), nil)

	url := pgtest.MigratedURL(t)
	db, err := store.Open(context.Background(), store.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	child := func(batch int) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childBlocksEnv+"="+path, childDBEnv+"="+url, childBatchEnv+"="+strconv.Itoa(batch))
		cmd.Stderr = os.Stderr
		return cmd
	}
	var heights []int64
	kills := 0
	for kills < 20 {
		cmd := child(1 + rng.IntN(3))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make(chan bool, 1)
		go func() {
			line, _ := bufio.NewReader(out).ReadString('\n')
			ready <- line == "ready\n"
		}()
		select {
		case ok := <-ready:
			if !ok {
				_ = cmd.Process.Kill()
				t.Fatalf("child did not start: %v", cmd.Wait())
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("child did not start in 30 s")
		}
		// At most 120 ms of a sync paced at 10 ms a block: the 20 kills land within the
		// chain's first 240 blocks, on any machine fast enough to keep the pace.
		time.Sleep(time.Duration(rng.IntN(120)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err = cmd.Wait()
		var ee *exec.ExitError
		if err == nil {
			break // finished before the kill: the chain is synced
		}
		if !errors.As(err, &ee) || ee.ExitCode() != -1 {
			t.Fatalf("child: %v", err)
		}
		kills++
		c, err := db.Cursor(context.Background())
		switch {
		case err == nil:
			heights = append(heights, c.Height)
		case errors.Is(err, store.ErrNotFound):
			heights = append(heights, -1) // killed before genesis was written
		default:
			t.Fatal(err)
		}
	}
	t.Logf("killed %d times, cursor after each kill: %v", kills, heights)
	if kills < 20 {
		t.Fatalf("the sync finished after %d kills: make the chain longer", kills)
	}
	if err := child(50).Run(); err != nil {
		t.Fatalf("final child: %v", err)
	}
	sameChecksums(t, checksums(t, clean), checksums(t, db))
	// The kills landed during an initial load with its indexes set aside, some perhaps during
	// their rebuild: all of them are back.
	if a, b := indexNames(t, db), indexNames(t, clean); a != b {
		t.Fatalf("indexes after the kills:\n%s\nafter a clean sync:\n%s", a, b)
	}
}
