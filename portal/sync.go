package portal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ledgerscope/ledgerscope/appdb"
	"github.com/ledgerscope/ledgerscope/compliance"
	"github.com/ledgerscope/ledgerscope/ledgersync"
)

// openDatabase finds, opens and migrates the database the sync writes.
func (p *Portal) openDatabase(ctx context.Context) error {
	d, err := appdb.Open(ctx, p.cfg.DB, p.log, appdb.Options{Migrate: true, Afresh: p.cfg.FreshDB})
	if err != nil {
		return err
	}
	p.db = d
	return nil
}

func (p *Portal) closeDatabase() error {
	p.db.Close()
	return nil
}

// newWorker makes the sync worker that follows p.src into the database, and registers its
// metrics.
func (p *Portal) newWorker(context.Context) error {
	g, err := ledgersync.GenesisFromDoc(p.doc)
	if err != nil {
		return err
	}
	p.worker, err = ledgersync.New(ledgersync.Config{Source: p.src, DB: p.db.DB, Genesis: g, LogEvery: p.cfg.LogEvery, Logger: p.log.With("component", "ledgersync")})
	if err == nil {
		// Each collector is registered once, by its part: only a programming error fails.
		p.reg.MustRegister(ledgersync.NewCollector(p.worker))
		p.retain.worker.Store(p.worker)
	}
	return err
}

// runWorker syncs until ctx ends. The worker returns an error only on an alarm (a divergent
// block, another chain); it retries everything else by itself.
func (p *Portal) runWorker(ctx context.Context) error {
	return wrap("ledgersync", p.worker.Run(ctx))
}

// newRules gives a portal following a devnet the devnet's watch list, then makes the rules
// runner and registers its metrics.
func (p *Portal) newRules(ctx context.Context) error {
	if err := p.uploadDevnetWatchlist(ctx); err != nil {
		return err
	}
	r, err := compliance.NewRunner(compliance.RunnerConfig{DB: p.db.DB, Logger: p.log.With("component", "compliance")})
	if err == nil {
		p.rules = r
		p.reg.MustRegister(compliance.NewCollector(r))
	}
	return err
}

// runRules evaluates the rules behind the sync until ctx ends.
func (p *Portal) runRules(ctx context.Context) error {
	return wrap("compliance rules", p.rules.Run(ctx))
}

// wrap prefixes a part's error with what failed; nil stays nil.
func wrap(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// uploadDevnetWatchlist gives a portal following a devnet the devnet's demo watch list, as
// devnet --sync gives its own database, so that its rules flag the load generator's WATCH
// scenario too. A regulator's portal uploads its list with rules watchlist upload.
func (p *Portal) uploadDevnetWatchlist(ctx context.Context) error {
	if p.cfg.FromDevnet == "" {
		return nil
	}
	path := filepath.Join(p.cfg.FromDevnet, "watchlist.csv")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	v, n, saved, err := UploadDevnetWatchlist(ctx, p.db.DB, path)
	if err != nil {
		return err
	}
	p.watchlist = UploadSaid(path, v, n, saved)
	return nil
}
