package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/devnet"
	"github.com/ledgerscope/ledgerscope/loadgen"
	"github.com/ledgerscope/ledgerscope/portal"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

// runCmd runs a command as a user would and returns what it printed.
func runCmd(ctx context.Context, cmd *cobra.Command, args ...string) (string, error) {
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	return out.String(), err
}

// TestLoadgenWritesUploadableWatchlist runs `ledgerscope loadgen` briefly against a
// one-validator devnet: it writes the watch list beside the ground truth, says how to upload
// it, and `rules watchlist upload` takes the file as it is. (A continued run, which needs a
// complete setup and so a longer first run, adds its parties through writeWatchlist, which
// TestDevnetWatchlistUploadOnce covers.)
func TestLoadgenWritesUploadableWatchlist(t *testing.T) {
	ctx, opts, dn := testDevnet(t, 60*time.Second)
	t.Setenv("DATABASE_URL", pgtest.URL(t))
	dir := t.TempDir()
	truth := filepath.Join(dir, "truth.jsonl")
	list := filepath.Join(dir, "watchlist.csv") // the default beside truth.jsonl
	out, err := runCmd(ctx, newLoadgenCmd(), "--node", dn.RPC(), "--demo-seed", opts.Seed, "--truth", truth,
		"--violations", "0.05", "--rate", "50", "--duration", "300ms", "--population", "120", "--sessions", "always")
	if err != nil {
		t.Fatalf("loadgen: %v\n%s", err, out)
	}
	if !strings.Contains(out, "rules watchlist upload "+list) {
		t.Errorf("loadgen does not say how to upload the watch list:\n%s", out)
	}
	want := watchlistOf(t, dn, opts.Seed, 1)
	if got := readWatchlistFile(t, list); !slices.Equal(got, want) {
		t.Fatalf("%s holds %d entries, not seed 1's %d", list, len(got), len(want))
	}
	out, err = runCmd(ctx, newRulesCmd(), "watchlist", "upload", list, "--reason", "loadgen watch list", "--by", "tester")
	if w := fmt.Sprintf("watch list version 1: %d entries", len(want)); err != nil || !strings.Contains(out, w) {
		t.Fatalf("upload: %q %v, want %q", out, err, w)
	}
}

// TestLoadgenWatchlistPath checks the default watch list file, named after the ground truth.
func TestLoadgenWatchlistPath(t *testing.T) {
	tests := []struct{ truth, watchlist, want string }{
		{"var/devnet/truth.jsonl", "", "var/devnet/watchlist.csv"},
		{"runs/run1-truth.jsonl", "", "runs/run1-watchlist.csv"},
		{"labels.jsonl", "", "labels.watchlist.csv"},
		{"var/devnet/truth.jsonl", "/tmp/w.csv", "/tmp/w.csv"},
	}
	for _, tt := range tests {
		f := loadgenFlags{truth: tt.truth, watchlist: tt.watchlist}
		if got := f.watchlistPath(); got != tt.want {
			t.Errorf("--truth %s --watchlist %q: %s, want %s", tt.truth, tt.watchlist, got, tt.want)
		}
	}
	f := loadgenFlags{rate: 1, sessions: "always", truth: "t.jsonl", watchlist: "./t.jsonl"}
	if err := f.validate(); err == nil || !strings.Contains(err.Error(), "ground-truth") {
		t.Error("a watch list over the ground truth was accepted")
	}
}

// TestDevnetWatchlistUploadOnce uploads the devnet's watch list twice, as two starts of
// `devnet --sync --load-rate` do: the second finds it current and adds no version. A list a
// continued run has grown is a new version.
func TestDevnetWatchlistUploadOnce(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	path := filepath.Join(t.TempDir(), "watchlist.csv")
	gen := func(seed uint64) *loadgen.Generator {
		g, err := loadgen.New(loadgen.Config{ChainID: "test-chain", DemoSeed: "test", Seed: seed, Violations: 0.02})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	n1, err := writeWatchlist(path, gen(1), false)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		write   uint64 // seed whose list a continued run adds first; 0: none
		version int32
		entries int
		saved   bool
	}{
		{0, 1, n1, true},
		{0, 1, n1, false},
		{1, 1, n1, false}, // a restart with the same seed writes the same bytes
		{7, 2, 2 * n1, true},
		{0, 2, 2 * n1, false},
	}
	for i, s := range steps {
		if s.write != 0 {
			if _, err := writeWatchlist(path, gen(s.write), true); err != nil {
				t.Fatal(err)
			}
		}
		v, n, saved, err := portal.UploadDevnetWatchlist(ctx, db, path)
		if err != nil || v != s.version || n != s.entries || saved != s.saved {
			t.Errorf("upload %d: version %d, %d entries, saved %v, %v; want %d, %d, %v", i, v, n, saved, err, s.version, s.entries, s.saved)
		}
	}
	var versions []struct {
		Version   int32
		CreatedBy string
		Reason    string
	}
	if err := db.Gorm.Table("watchlist_versions").Order("version").Find(&versions).Error; err != nil {
		t.Fatal(err)
	}
	if len(versions) != 2 || versions[0].CreatedBy != portal.DevnetWatchlistBy || versions[1].Reason != portal.DevnetWatchlistReason {
		t.Errorf("watch list versions %+v, want 2 by %q", versions, portal.DevnetWatchlistBy)
	}
}

// watchlistOf is the watch list of the loadgen seed on the devnet's chain.
func watchlistOf(t *testing.T, dn *devnet.Net, demoSeed string, seed uint64) []loadgen.WatchEntry {
	t.Helper()
	g, err := loadgen.New(loadgen.Config{ChainID: dn.Meta.ChainID, DemoSeed: demoSeed, Seed: seed, Population: 120})
	if err != nil {
		t.Fatal(err)
	}
	return g.Watchlist()
}

func readWatchlistFile(t *testing.T, path string) []loadgen.WatchEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	es, err := loadgen.ReadWatchEntries(f)
	if err != nil {
		t.Fatal(err)
	}
	return es
}
