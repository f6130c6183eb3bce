// Package portal is a portal process: the embedded full node, ledgersync, the compliance
// rules, and later the web tier, started in order, supervised so that the failure of one
// part stops the rest cleanly, and shut down in reverse order. The portal, sync and devnet
// --sync commands run it; Part says how a new part joins.
package portal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/cometbft/cometbft/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ledgerscope/ledgerscope/appdb"
	"github.com/ledgerscope/ledgerscope/compliance"
	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/ledgersync"
	"github.com/ledgerscope/ledgerscope/node"
	"github.com/ledgerscope/ledgerscope/server"
)

// Portal is a running full node, sync worker and rules runner, or the parts of it that run.
type Portal struct {
	cfg     Config
	log     *slog.Logger
	reg     *prometheus.Registry
	doc     *types.GenesisDoc
	genesis string // where the genesis came from, for people

	app     *ledger.App      // nil without a node
	node    *node.Node       // nil without a node
	src     node.BlockSource // the embedded node, or the remote one
	resumed int64            // the height the node's home held at start; 0 on a first start
	db      *appdb.DB        // nil without the sync
	worker  *ledgersync.Worker
	rules   *compliance.Runner
	retain  retainer
	web     *server.Server // nil without the web tier
	webLn   net.Listener
	// watchlist says what became of the devnet's demo watch list (--from-devnet), for people.
	watchlist string

	parts *parts
}

// Start starts the parts c asks for, in order: the node (or the client of a remote one),
// the database, the sync, the rules. On error, whatever it started is stopped again.
func Start(ctx context.Context, c Config, log *slog.Logger) (*Portal, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	p := &Portal{cfg: c, log: log, reg: prometheus.NewRegistry()}
	p.retain.keep = c.RetainBlocks
	p.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	doc, err := p.loadGenesis(ctx)
	if err != nil {
		return nil, err
	}
	p.doc = doc
	if p.parts, err = startParts(ctx, log, p.partList()); err != nil {
		return nil, err
	}
	return p, nil
}

// partList is the portal's parts in start order; they stop in the reverse one.
func (p *Portal) partList() []Part {
	var ps []Part
	if p.cfg.NoNode {
		ps = append(ps, Part{Name: "node client", Start: p.dialNode})
	} else {
		ps = append(ps, Part{Name: "node", Start: p.startNode, Run: p.watchNode, Stop: p.stopNode})
	}
	if p.cfg.NoSync {
		return ps
	}
	ps = append(ps,
		Part{Name: "database", Start: p.openDatabase, Stop: p.closeDatabase},
		Part{Name: "ledgersync", Start: p.newWorker, Run: p.runWorker},
	)
	if p.cfg.Rules {
		ps = append(ps, Part{Name: "compliance rules", Start: p.newRules, Run: p.runRules})
	}
	if p.cfg.HTTPListen != "" {
		ps = append(ps, Part{Name: "web", Start: p.startWeb, Run: p.runWeb})
	}
	return ps
}

// Run starts the portal, prints what an operator needs and its progress every
// c.ReportEvery until ctx ends or a part halts, then stops it cleanly.
func Run(ctx context.Context, out io.Writer, c Config, log *slog.Logger) (err error) {
	p, err := Start(ctx, c, log)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, p.Close()) }()
	p.Describe(out)
	ticker := time.NewTicker(c.ReportEvery)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(out, "portal stopping")
			return nil
		case <-p.Failed():
			return p.Err()
		case now := <-ticker.C:
			fmt.Fprintf(out, "%s %s\n", now.Format("15:04:05"), p.Progress(ctx))
		}
	}
}

// Failed is closed when a part of the portal halted on its own; Err says why.
func (p *Portal) Failed() <-chan struct{} { return p.parts.failed }

// Err is why the portal halted, once Failed is closed.
func (p *Portal) Err() error { return p.parts.err() }

// Close stops the parts' work, then the parts in reverse start order: the rules and the sync,
// the database, the node (the worker reads from it). A node that halted has already reported
// why through Err.
func (p *Portal) Close() error { return p.parts.close() }

// ChainID is the chain the portal follows.
func (p *Portal) ChainID() string { return p.doc.ChainID }

// Node is the embedded full node; nil without one.
func (p *Portal) Node() *node.Node { return p.node }

// Database is the database the sync writes; nil without the sync.
func (p *Portal) Database() *appdb.DB { return p.db }

// Worker is the sync worker, for its Metrics; nil without the sync.
func (p *Portal) Worker() *ledgersync.Worker { return p.worker }

// Registry holds the portal's metrics: the Go runtime's, the process's, and those of the
// sync (ledgerscope_sync_*) and the rules (ledgerscope_rules_*) when they run, for the web
// tier to serve at /metrics.
func (p *Portal) Registry() *prometheus.Registry { return p.reg }
