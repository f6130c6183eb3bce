package bench

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ledgerscope/ledgerscope/pgserver"
	"github.com/ledgerscope/ledgerscope/store"
)

// GroupSoak is the soak: the demo stack, then a portal following it, each run for a long
// while and sampled for growth. It runs only when named (--only soak).
const GroupSoak = "soak"

// SoakConfig sizes the soak.
type SoakConfig struct {
	// Rate is the load generator's tx/s.
	Rate float64
	// Duration is how long each phase runs.
	Duration time.Duration
	// Every is the sampling interval.
	Every time.Duration
	// Warmup is how long a phase runs before its growth is counted: the caches of CometBFT
	// and of the ledger fill in that time.
	Warmup time.Duration
	// PGDir is the private PostgreSQL cluster, used when neither DATABASE_URL nor a server on
	// 127.0.0.1:5432 is there.
	PGDir string
}

// DefaultSoakConfig is `make soak`: 2,000 tx/s, 30 minutes a phase, a sample every 5.
func DefaultSoakConfig() SoakConfig {
	return SoakConfig{Rate: 2000, Duration: 30 * time.Minute, Every: 5 * time.Minute, Warmup: 5 * time.Minute, PGDir: pgserver.DefaultDir}
}

// Goals of the soak.
const (
	soakRSSGrowthGoal = 5.0 // % from the end of the warm-up to the end of the phase
	soakDBDemo        = "lsbench_soak"
	soakDBPortal      = "lsbench_soak_portal"
)

// soakSample is what one sample reads of a process and its stores.
type soakSample struct {
	at         time.Duration
	height     int64
	txs        int64
	rss        int64 // bytes
	heap       int64 // bytes of live Go heap, as a forced collection marked them
	goroutines int64
	openFiles  int64
	disk       map[string]int64 // bytes per store
}

// soakStores are the stores of a node home, in the order they are printed.
var soakStores = []struct{ name, dir string }{
	{"blocks", "data/blockstore.db"},
	{"state", "data/state.db"},
	{"app", "data/ledger"},
	{"wal", "data/cs.wal"},
}

// Soak runs the two phases and prints their samples and figures.
func Soak(ctx context.Context, cfg SoakConfig, dir string, basePort int, w io.Writer, progress func(string, ...any)) ([]Row, error) {
	srv, err := pgserver.Discover(ctx, pgserver.Config{URL: os.Getenv("DATABASE_URL"), Dir: cfg.PGDir})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	urls := map[string]string{}
	for _, name := range []string{soakDBDemo, soakDBPortal} {
		if err := srv.DropDatabase(ctx, name); err != nil {
			return nil, err
		}
		if urls[name], err = srv.DatabaseURL(ctx, name); err != nil {
			return nil, err
		}
		if os.Getenv("BENCH_KEEP_DB") == "" {
			defer func() { _ = srv.DropDatabase(context.Background(), name) }()
		}
	}
	home := filepath.Join(dir, "devnet")
	demo := soakProc{
		name: "demo", home: home, nodeHome: filepath.Join(home, "szfe"), db: urls[soakDBDemo],
		rpc: fmt.Sprintf("http://127.0.0.1:%d", basePort+1), pprof: fmt.Sprintf("127.0.0.1:%d", basePort+90),
		args: []string{"devnet", "--home", home, "--sync", "--load-rate", strconv.FormatFloat(cfg.Rate, 'f', -1, 64),
			"--base-port", strconv.Itoa(basePort), "--report-every", "1m", "--http-listen", fmt.Sprintf("127.0.0.1:%d", basePort+80)},
	}
	progress("soak: the demo stack at %.0f tx/s for %s", cfg.Rate, cfg.Duration)
	stopDemo, err := demo.start(ctx)
	if err != nil {
		return nil, err
	}
	defer stopDemo()
	demoSamples, err := demo.sample(ctx, cfg, progress)
	if err != nil {
		return nil, err
	}
	rows := soakFigures(demo, cfg, demoSamples)
	printSamples(w, demo.name, demoSamples)

	portalHome := filepath.Join(dir, "portal")
	portal := soakProc{
		name: "portal", home: portalHome, nodeHome: portalHome, db: urls[soakDBPortal],
		rpc: fmt.Sprintf("http://127.0.0.1:%d", basePort+71), pprof: fmt.Sprintf("127.0.0.1:%d", basePort+91),
		args: []string{"portal", "--home", portalHome, "--from-devnet", home, "--report-every", "1m",
			"--p2p-listen", fmt.Sprintf("tcp://127.0.0.1:%d", basePort+70), "--rpc-listen", fmt.Sprintf("tcp://127.0.0.1:%d", basePort+71),
			"--http-listen", fmt.Sprintf("127.0.0.1:%d", basePort+81)},
	}
	progress("soak: a portal following the demo for %s", cfg.Duration)
	stopPortal, err := portal.start(ctx)
	if err != nil {
		return nil, err
	}
	defer stopPortal()
	portalSamples, err := portal.sample(ctx, cfg, progress)
	if err != nil {
		return nil, err
	}
	printSamples(w, portal.name, portalSamples)
	rows = append(rows, soakFigures(portal, cfg, portalSamples)...)
	db, err := store.Open(ctx, store.Config{URL: urls[soakDBPortal]})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	sizes, err := tableSizes(ctx, db, int(portalSamples[len(portalSamples)-1].txs))
	if err != nil {
		return nil, err
	}
	rows = append(rows, sizes...)
	return rows, nil
}

// soakProc is one measured process of the soak.
type soakProc struct {
	name     string
	home     string // what the process was given as --home
	nodeHome string // the node home whose stores are measured
	db       string // its database URL
	rpc      string // a node's RPC, for the chain's height and tx count
	pprof    string // its profile listener
	args     []string
	pid      int
}

// start starts the process with its own database and profile listener; stop interrupts it
// and waits for it.
func (p *soakProc) start(ctx context.Context) (stop func(), err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := append(append([]string(nil), p.args...), "--pprof-listen", p.pprof)
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+p.db)
	if os.Getenv("BENCH_LOG") != "" {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("soak: start %s: %w", p.name, err)
	}
	p.pid = cmd.Process.Pid
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
	}
	// Sampling starts once the process answers: its profiles, and its node's first block.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(time.Second) {
		_, errHeap := profileFigure("http://"+p.pprof+"/debug/pprof/heap?debug=1", "# HeapInuse = ")
		h, _, errRPC := chainTxs(p.rpc)
		if errHeap == nil && errRPC == nil && h > 0 {
			return stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("soak: %s did not answer within 2 minutes: %v", p.name, errors.Join(errHeap, errRPC))
		}
	}
}

// sample reads the process every cfg.Every for cfg.Duration, and once at the end.
func (p *soakProc) sample(ctx context.Context, cfg SoakConfig, progress func(string, ...any)) ([]soakSample, error) {
	start := time.Now()
	var out []soakSample
	for next := time.Duration(0); ; next += cfg.Every {
		next = min(next, cfg.Duration)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Until(start.Add(next))):
		}
		s, err := p.read(ctx, time.Since(start))
		if err != nil {
			return nil, fmt.Errorf("soak: %s at %s: %w", p.name, time.Since(start).Round(time.Second), err)
		}
		progress("soak: %s %s: height %d, %d txs, RSS %.0f MiB, heap %.0f MiB, %d goroutines, %d open files",
			p.name, s.at.Round(time.Second), s.height, s.txs, mib(s.rss), mib(s.heap), s.goroutines, s.openFiles)
		out = append(out, s)
		if next >= cfg.Duration {
			return out, nil
		}
	}
}

// read takes one sample of the process and its stores.
func (p *soakProc) read(ctx context.Context, at time.Duration) (soakSample, error) {
	s := soakSample{at: at, disk: map[string]int64{}}
	kib, err := residentKiB(p.pid)
	if err != nil {
		return s, err
	}
	s.rss = kib << 10
	// The endpoint collects first, so the figure is the live heap, not how far the
	// collector let garbage pile up since its last cycle.
	if s.heap, err = profileFigure("http://"+p.pprof+"/debug/heap/live", "live_heap_bytes "); err != nil {
		return s, err
	}
	if s.goroutines, err = profileFigure("http://"+p.pprof+"/debug/pprof/goroutine?debug=1", "goroutine profile: total "); err != nil {
		return s, err
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.pid))
	if err != nil {
		return s, err
	}
	s.openFiles = int64(len(fds))
	if s.height, s.txs, err = chainTxs(p.rpc); err != nil {
		return s, err
	}
	for _, st := range soakStores {
		if s.disk[st.name], err = diskUsage(filepath.Join(p.nodeHome, st.dir)); err != nil {
			return s, err
		}
	}
	conn, err := pgx.Connect(ctx, p.db)
	if err != nil {
		return s, err
	}
	defer conn.Close(ctx)
	var pg int64
	if err := conn.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&pg); err != nil {
		return s, err
	}
	s.disk["postgres"] = pg
	return s, nil
}

// soakFigures are a phase's rows: growth after the warm-up and disk per transaction.
func soakFigures(p soakProc, cfg SoakConfig, ss []soakSample) []Row {
	first, last := ss[0], ss[len(ss)-1]
	for _, s := range ss {
		if s.at >= cfg.Warmup {
			first = s
			break
		}
	}
	growth := func(a, b int64) float64 {
		if a == 0 {
			return 0
		}
		return 100 * float64(b-a) / float64(a)
	}
	span := fmt.Sprintf("%s to %s", first.at.Round(time.Minute), last.at.Round(time.Minute))
	rows := []Row{
		{Name: p.name + ": RSS growth after warm-up", Value: growth(first.rss, last.rss), Unit: "%", Goal: soakRSSGrowthGoal, AtMost: true,
			Note: fmt.Sprintf("%.0f to %.0f MiB, %s", mib(first.rss), mib(last.rss), span)},
		{Name: p.name + ": live Go heap growth", Value: growth(first.heap, last.heap), Unit: "%", Note: fmt.Sprintf("%.0f to %.0f MiB", mib(first.heap), mib(last.heap))},
		{Name: p.name + ": goroutines growth", Value: float64(last.goroutines - first.goroutines), Unit: "", Note: fmt.Sprintf("%d to %d", first.goroutines, last.goroutines)},
		{Name: p.name + ": open files growth", Value: float64(last.openFiles - first.openFiles), Unit: "", Note: fmt.Sprintf("%d to %d", first.openFiles, last.openFiles)},
	}
	if d := last.txs - ss[0].txs; d > 0 {
		for _, st := range append(soakStores, struct{ name, dir string }{"postgres", ""}) {
			grew := last.disk[st.name] - ss[0].disk[st.name]
			rows = append(rows, Row{Name: fmt.Sprintf("  %s disk: %s", p.name, st.name), Value: float64(grew) / float64(d), Unit: "B/tx",
				Note: fmt.Sprintf("%.0f MiB at the end", mib(last.disk[st.name]))})
		}
	}
	return rows
}

// printSamples writes a phase's samples as a table.
func printSamples(w io.Writer, name string, ss []soakSample) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "soak: %s\n", name)
	fmt.Fprintln(tw, "time\theight\ttxs\tRSS MiB\theap MiB\tgoroutines\tfiles\tblocks MiB\tstate MiB\tapp MiB\twal MiB\tpostgres MiB\t")
	for _, s := range ss {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%.0f\t%d\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t\n", s.at.Round(time.Second), s.height, s.txs,
			mib(s.rss), mib(s.heap), s.goroutines, s.openFiles,
			mib(s.disk["blocks"]), mib(s.disk["state"]), mib(s.disk["app"]), mib(s.disk["wal"]), mib(s.disk["postgres"]))
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// profileFigure reads the number after prefix in a text profile. A forced collection of a
// large heap on a busy machine was measured taking over 30 s: the bound is generous.
func profileFigure(url, prefix string) (int64, error) {
	client := http.Client{Timeout: 3 * time.Minute}
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s: no %q", url, prefix)
}

// chainTxs reads the chain's height and committed transactions from a node's RPC.
func chainTxs(rpc string) (height, txs int64, err error) {
	client := http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get(rpc + `/abci_query?path="/stats"`)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var q struct {
		Result struct {
			Response struct {
				Value  string `json:"value"`
				Height string `json:"height"`
			} `json:"response"`
		} `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&q); err != nil {
		return 0, 0, fmt.Errorf("stats query: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(q.Result.Response.Value)
	if err != nil {
		return 0, 0, fmt.Errorf("stats query: %w", err)
	}
	var st struct{ Txs int64 }
	if err := json.Unmarshal(raw, &st); err != nil {
		return 0, 0, fmt.Errorf("stats query %q: %w", raw, err)
	}
	height, err = strconv.ParseInt(q.Result.Response.Height, 10, 64)
	return height, st.Txs, err
}

// diskUsage is the space the files under dir take on disk; a missing dir takes none.
func diskUsage(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // a file compacted away while we walked
			}
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			n += st.Blocks * 512
		}
		return nil
	})
	return n, err
}
