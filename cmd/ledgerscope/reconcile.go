package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/appdb"
	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/reconcile"
)

// reconcileConfig is the reconcile command's flags.
type reconcileConfig struct {
	db       appdb.Config
	nodeRPC  string
	pageSize int
	maxDiffs int
	timeout  time.Duration
}

// newReconcileCmd is `ledgerscope reconcile`: PostgreSQL against the validated node's state at
// the sync cursor's height. It exits non-zero when anything differs.
func newReconcileCmd() *cobra.Command {
	var c reconcileConfig
	cmd := &cobra.Command{
		Use:   "reconcile",
		Short: "Compare every balance, supply and transaction count in PostgreSQL with the node's state at the synced height",
		Long: `Compare every balance, the supply of every asset and the count of transactions (and of
failed ones) in PostgreSQL with the validated node's state at the same height, the sync
cursor's, asked over the node's RPC. Prints a summary that names the block, or each
difference with both values; exits with an error when there is any difference.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := cliLogger()
			rpc, err := reconcile.NewRPC(c.nodeRPC, c.timeout)
			if err != nil {
				return err
			}
			return withDatabase(ctx, c.db, func(d *appdb.DB) error {
				r, err := reconcile.Run(ctx, reconcile.Config{
					DB: d.DB, Ledger: rpc, Chain: rpc, PageSize: c.pageSize, MaxDifferences: c.maxDiffs,
					Logger: log.With("component", "reconcile"),
				})
				if err != nil {
					return err
				}
				if err := r.WriteText(cmd.OutOrStdout()); err != nil {
					return err
				}
				if !r.OK() {
					return fmt.Errorf("%d differences between PostgreSQL and the ledger at height %d", r.Total, r.Height)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.nodeRPC, "node-rpc", defaultNode, "CometBFT RPC address of the validated node; it must keep the synced height's state")
	f.IntVar(&c.pageSize, "page-size", reconcile.DefaultPageSize, fmt.Sprintf("holdings per ledger query, 1 to %d", ledger.MaxBalancesPage))
	f.IntVar(&c.maxDiffs, "max-differences", reconcile.DefaultMaxDifferences, "differences to list; all are counted")
	f.DurationVar(&c.timeout, "rpc-timeout", reconcile.DefaultRPCTimeout, "bound on each RPC call")
	addDBFlags(cmd, &c.db)
	return cmd
}
