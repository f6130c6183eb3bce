package main

import (
	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/portal"
)

// newSyncCmd is `ledgerscope sync --node-rpc URL`: ledgersync following a remote node over
// CometBFT's RPC, with the rules behind it. It is the portal command without its node
// (portal --no-node), the same code.
func newSyncCmd() *cobra.Command {
	c := portal.Config{NoNode: true}
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Replicate a node's committed blocks into PostgreSQL, exactly once",
		Long: `Replicate a remote node's committed blocks into PostgreSQL, exactly once, following it
over CometBFT's RPC, with the compliance rules evaluated behind the sync. The same as
ledgerscope portal --no-node --node-rpc URL.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.NodeRPC == "" {
				return errorf("--node-rpc is required (e.g. http://127.0.0.1:26657)")
			}
			return runPortal(cmd, c)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.NodeRPC, "node-rpc", "", "CometBFT RPC address of the node to follow; it must keep FinalizeBlock results")
	f.StringVar(&c.GenesisPath, "genesis", "", "the chain's genesis.json; default: fetched from the node")
	addFollowFlags(cmd, &c)
	return cmd
}
