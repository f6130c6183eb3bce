package main

import (
	"github.com/spf13/cobra"
)

// newRootCmd assembles the subcommands; each lives in a file of its own.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "ledgerscope",
		Short:         "Supervisory node and tools of the consortium ledger",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newDevnetCmd(),
		newKeysCmd(),
		newTxCmd(),
		newQueryCmd(),
		newLoadgenCmd(),
		newBenchCmd(),
		newMigrateCmd(),
		newSyncCmd(),
		newHoldingsCmd(),
		newRulesCmd(),
		newViolationsCmd(),
		newReconcileCmd(),
		newPortalCmd(),
		newServeCmd(),
		newUsersCmd(),
	)
	addPprofFlag(root)
	return root
}
