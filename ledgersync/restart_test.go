package ledgersync

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/migrations"
	"github.com/ledgerscope/ledgerscope/node"
	"github.com/ledgerscope/ledgerscope/pgserver"
	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

// pacedSource serves a testChain's blocks no faster than one per pace, so a sync lasts long
// enough to be interrupted.
type pacedSource struct {
	*testChain
	pace time.Duration
}

func (s pacedSource) Block(ctx context.Context, h int64) (*node.CommittedBlock, error) {
	time.Sleep(s.pace)
	return s.testChain.Block(ctx, h)
}

// TestPostgresRestartMidSync crashes the database server (immediate shutdown) while the worker
// syncs, starts it again, and expects the worker to resume by itself and end equal to a clean
// sync. It runs on a private cluster, as the shared server must not be restarted.
func TestPostgresRestartMidSync(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a private PostgreSQL cluster")
	}
	ctx := context.Background()
	base, err := os.MkdirTemp("", "ledgersync-restart-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	cl, err := pgserver.StartCluster(ctx, pgserver.ClusterConfig{Dir: filepath.Join(base, "pg")})
	if err != nil {
		t.Skipf("no private cluster: %v", err)
	}
	t.Cleanup(func() { cl.Stop() })
	db, err := store.Open(ctx, store.Config{URL: cl.URL("postgres"), MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := migrations.Up(ctx, db.SQL(), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}

	src := newTestChain(t, 9)
	src.Run(120, 40)
	clean := pgtest.New(t)
	syncTo(t, clean, src, src.Height(), nil)

	w, err := New(Config{Source: pacedSource{src, 10 * time.Millisecond}, DB: db, Genesis: testGenesis(t), MaxBatchBlocks: 5,
		Logger: testLogger(t), RetryMin: 50 * time.Millisecond, RetryMax: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(rctx) }()
	waitFor := func(what string, cond func(Metrics) bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !cond(w.Metrics()) {
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("waiting for %s: %+v", what, w.Metrics())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("some blocks", func(m Metrics) bool { return m.SyncedHeight >= 20 })
	if err := cl.Kill(); err != nil {
		t.Fatal(err)
	}
	waitFor("the error to be seen", func(m Metrics) bool { return m.LastError != "" })
	stalled := w.Metrics().SyncedHeight
	time.Sleep(300 * time.Millisecond)
	if err := cl.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor("the end of the chain", func(m Metrics) bool { return m.SyncedHeight == src.Height() })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if stalled >= src.Height() {
		t.Fatalf("the restart came after the sync had finished (%d)", stalled)
	}
	t.Logf("stalled at %d of %d; last error: %s", stalled, src.Height(), w.Metrics().LastError)
	sameChecksums(t, checksums(t, clean), checksums(t, db))
}
