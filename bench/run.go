package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Config sizes a benchmark run.
type Config struct {
	// Dir holds the chains the run creates; it is removed afterwards.
	Dir string
	// Txs is how many signed transactions the app and devnet throughput measures use.
	Txs int
	// FullNodeTxs is how many the full-node measure syncs. It is larger: the block and
	// state stores' compactions, which a long catch-up pays for, start only after a few
	// hundred thousand, and a shorter sync measured 20% faster than a long one.
	FullNodeTxs int
	// BasePort is the first of the local ports the devnets use.
	BasePort int
	// Only names the groups of rows to measure (Groups); empty measures all.
	Only []string
	// Sync sizes the ledgersync figures.
	Sync SyncConfig
	// Soak sizes the soak, which runs only when Only names it.
	Soak SoakConfig
}

// Groups of rows, in the order Run measures them; Config.Only selects among them.
var Groups = []string{"verify", "app", "fullnode", "devnet", "startup", GroupIngest, GroupRules, GroupLive, GroupQuery, GroupBacktest, GroupSoak}

// wants reports whether the run measures a group. The soak, an hour long, runs only when
// named.
func (c Config) wants(group string) bool {
	return (len(c.Only) == 0 && group != GroupSoak) || slices.Contains(c.Only, group)
}

// Run measures everything and prints the table to w.
func Run(ctx context.Context, cfg Config, w io.Writer) error {
	for _, g := range cfg.Only {
		if !slices.Contains(Groups, g) {
			return fmt.Errorf("bench: no group %q; the groups are %v", g, Groups)
		}
	}
	release, err := claimDir(cfg.Dir)
	if err != nil {
		return err
	}
	defer release()
	progress := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...) }

	rows, err := throughputRows(ctx, cfg, progress)
	if err != nil {
		return err
	}
	if cfg.wants("startup") {
		progress("binary start-up")
		su, err := Startup(ctx, filepath.Join(cfg.Dir, "startup"), cfg.BasePort+200)
		if err != nil {
			return fmt.Errorf("start-up: %w", err)
		}
		rows = append(rows, su...)
	}
	if cfg.wants(GroupIngest) || cfg.wants(GroupRules) || cfg.wants(GroupLive) || cfg.wants(GroupQuery) || cfg.wants(GroupBacktest) {
		sr, err := SyncRows(ctx, cfg.Sync, filepath.Join(cfg.Dir, "sync"), cfg.wants, progress)
		if err != nil {
			return err
		}
		rows = append(rows, sr...)
	}
	if cfg.wants(GroupSoak) {
		sk, err := Soak(ctx, cfg.Soak, filepath.Join(cfg.Dir, "soak"), cfg.BasePort+300, w, progress)
		if err != nil {
			return err
		}
		rows = append(rows, sk...)
	}
	Print(w, rows)
	return nil
}

// claimDir locks dir and empties it for the run; release removes it and unlocks it.
func claimDir(dir string) (release func(), err error) {
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	// A run killed before it could remove the directory leaves its chains behind, which
	// this run would start from (its traffic then refused as replays): start empty.
	if err := os.RemoveAll(dir); err != nil {
		unlock()
		return nil, fmt.Errorf("bench: clear %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		unlock()
		return nil, err
	}
	return func() {
		os.RemoveAll(dir)
		unlock()
	}, nil
}

// throughputRows measures the verify ceiling and the rates at which the app, a full node
// and a devnet take the same signed transfers, each beside its ratio to the ceiling. The
// transfers, the run's largest allocation, are gone once it returns.
func throughputRows(ctx context.Context, cfg Config, progress func(string, ...any)) ([]Row, error) {
	const seed, chainID = "bench", "ledgerscope-devnet"
	var rows []Row
	var limit Row
	if cfg.wants("verify") {
		progress("measuring the batch Ed25519 verify rate")
		limit = VerifyRate(3 * time.Second)
		rows = append(rows, limit)
	}
	ratio := func(r Row) []Row {
		if limit.Value == 0 {
			return []Row{r}
		}
		return []Row{r, {Name: "  ratio to the verify ceiling", Value: r.Value / limit.Value, Unit: "×", Goal: 0.6}}
	}

	var tr Traffic
	if cfg.wants("app") || cfg.wants("fullnode") || cfg.wants("devnet") {
		n := cfg.Txs
		if cfg.wants("fullnode") {
			n = max(n, cfg.FullNodeTxs)
		}
		progress("signing %d transactions", n)
		tr = transfers(seed, chainID, 5000, n)
	}
	// A prefix of the load is valid traffic too: each account's nonces run in load order.
	first := func(n int) Traffic { return Traffic{Setup: tr.Setup, Load: tr.Load[:min(n, len(tr.Load))]} }

	if cfg.wants("app") {
		progress("app re-execution")
		app, err := AppValidation(filepath.Join(cfg.Dir, "app"), seed, chainID, first(cfg.Txs), 10_000)
		if err != nil {
			return nil, fmt.Errorf("app validation: %w", err)
		}
		rows = append(rows, ratio(app)...)
	}
	if cfg.wants("fullnode") {
		progress("full node block sync")
		fn, err := FullNodeSync(ctx, filepath.Join(cfg.Dir, "fullnode"), cfg.BasePort+100, seed, first(cfg.FullNodeTxs))
		if err != nil {
			return nil, fmt.Errorf("full node sync: %w", err)
		}
		rows = append(rows, ratio(fn)...)
	}
	if cfg.wants("devnet") {
		progress("devnet of 4 validators")
		dn, err := DevnetThroughput(ctx, filepath.Join(cfg.Dir, "devnet4"), 4, cfg.BasePort, seed, first(cfg.Txs))
		if err != nil {
			return nil, fmt.Errorf("devnet throughput: %w", err)
		}
		rows = append(rows, dn)
	}
	return rows, nil
}
