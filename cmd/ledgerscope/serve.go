package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/appdb"
	"github.com/ledgerscope/ledgerscope/server"
)

// newServeCmd is `ledgerscope serve`: the web tier alone against the database, with no node
// and no sync, for more replicas behind a load balancer.
func newServeCmd() *cobra.Command {
	var db appdb.Config
	var listen string
	var tls bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the portal's pages and API from the database alone (another web replica)",
		Long: `Serve the portal's pages and JSON API from the database, with no node and no sync: a
web replica beside the process that runs ledgerscope portal, behind the same load balancer.
Sessions, sign-in throttles and users are in PostgreSQL, so any replica answers any request.
It does not migrate the database: the portal process does, and /readyz says not ready until
the schema is the binary's.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			d, err := appdb.Open(ctx, db, cmdLogger(cmd), appdb.Options{})
			if err != nil {
				return err
			}
			defer d.Close()
			s, err := server.New(server.Config{Listen: listen, DB: d.DB, Logger: cmdLogger(cmd), TLS: tls})
			if err != nil {
				return err
			}
			ln, err := s.Listen()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "portal web tier on http://%s, database %s\n", ln.Addr(), d.RedactedURL())
			return s.Serve(ctx, ln)
		},
	}
	addWebFlags(cmd, &listen, &tls)
	addDBFlags(cmd, &db)
	return cmd
}

// addWebFlags registers the web tier's flags.
func addWebFlags(cmd *cobra.Command, listen *string, tls *bool) {
	cmd.Flags().StringVar(listen, "http-listen", server.DefaultListen, "host:port of the portal's pages and API; empty: no web tier")
	cmd.Flags().BoolVar(tls, "tls", false, "the portal is reached over HTTPS (through a proxy): session cookies are marked Secure")
}
