package portal

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Describe prints what an operator needs to know of the running portal.
func (p *Portal) Describe(out io.Writer) {
	line := func(label, format string, a ...any) {
		fmt.Fprintf(out, "  %-14s %s\n", label, fmt.Sprintf(format, a...))
	}
	c := p.cfg
	fmt.Fprintf(out, "portal on chain %s\n", p.ChainID())
	line("genesis", "%s", p.genesis)
	if p.node != nil {
		if p.resumed > 0 {
			line("home", "%s (resumed at height %d)", c.Home, p.resumed)
		} else {
			line("home", "%s (first start)", c.Home)
		}
		line("node id", "%s", p.node.NodeID())
		line("P2P", "%s", p.node.P2PAddress())
		if c.RPCListen != "" {
			line("CometBFT RPC", "%s", rpcURL(c.RPCListen))
		}
		line("peers", "%s", strings.Join(c.Peers, ","))
		if c.RetainBlocks > 0 {
			line("blocks kept", "the last %d, and every block not yet synced (--retain-blocks)", c.RetainBlocks)
		}
	} else {
		line("following", "%s", c.NodeRPC)
	}
	if p.db != nil {
		line("PostgreSQL", "%s", p.db.RedactedURL())
		rules := "off"
		if c.Rules {
			rules = "evaluated behind the sync"
		}
		line("rules", "%s", rules)
		if p.watchlist != "" {
			line("watch list", "%s", p.watchlist)
		}
	}
	if p.webLn != nil {
		line("web", "%s (pages and /api/v1)", p.WebURL())
	}
}

// rpcURL turns a listen address ("tcp://127.0.0.1:26657") into the URL clients dial.
func rpcURL(listen string) string {
	if rest, ok := strings.CutPrefix(listen, "tcp://"); ok {
		return "http://" + rest
	}
	return listen
}

// Progress is one line of the node's and the sync's state.
func (p *Portal) Progress(ctx context.Context) string {
	var b strings.Builder
	sctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	st, err := p.src.Status(sctx)
	if err != nil {
		fmt.Fprintf(&b, "node status: %v", err)
	} else {
		fmt.Fprintf(&b, "node height %d, peers %d", st.LatestHeight, len(st.Peers))
		if st.CatchingUp {
			b.WriteString(", catching up")
		}
	}
	if p.worker != nil {
		m := p.worker.Metrics()
		fmt.Fprintf(&b, "; synced %d, lag %d (%.1fs), %.0f rows/s", m.SyncedHeight, m.LagHeights, m.LagSeconds, m.RowsPerSecond)
		if m.DeferredIndexes > 0 {
			fmt.Fprintf(&b, "; initial load, %d indexes, keys and rebuilds set aside until caught up (queries slow, rules waiting)", m.DeferredIndexes)
		}
		if m.LastError != "" && time.Since(m.LastErrorAt) < 2*p.cfg.ReportEvery {
			fmt.Fprintf(&b, "; last error: %s", m.LastError)
		}
		if m.Halted {
			b.WriteString("; SYNC HALTED: " + m.HaltReason)
		}
	}
	return b.String()
}
