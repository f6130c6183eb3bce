package portal

import (
	"context"

	"github.com/ledgerscope/ledgerscope/server"
)

// startWeb builds the web tier on the portal's database and opens its listener, so that a
// taken port fails the start rather than a later Run.
func (p *Portal) startWeb(context.Context) error {
	s, err := server.New(server.Config{Listen: p.cfg.HTTPListen, DB: p.db.DB, Logger: p.log.With("component", "web"),
		Registry: p.reg, TLS: p.cfg.TLS})
	if err != nil {
		return err
	}
	ln, err := s.Listen()
	if err != nil {
		return err
	}
	p.web, p.webLn = s, ln
	return nil
}

// runWeb serves until the portal stops.
func (p *Portal) runWeb(ctx context.Context) error {
	return p.web.Serve(ctx, p.webLn)
}

// WebURL is the address the portal's pages are served at; empty without the web tier.
func (p *Portal) WebURL() string {
	if p.webLn == nil {
		return ""
	}
	return "http://" + p.webLn.Addr().String()
}
