package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/types"
	"github.com/spf13/cobra"
)

// newSyncCmd is `ledgerscope sync --node-rpc URL`: ledgersync following a remote node over
// CometBFT's RPC, with the rules behind it. It is the portal command without its node
// (portal --no-node), the same code.
func newSyncCmd() *cobra.Command {
	c := portalConfig{noNode: true}
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Replicate a node's committed blocks into PostgreSQL, exactly once",
		Long: `Replicate a remote node's committed blocks into PostgreSQL, exactly once, following it
over CometBFT's RPC, with the compliance rules evaluated behind the sync. The same as
ledgerscope portal --no-node --node-rpc URL.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.nodeRPC == "" {
				return errorf("--node-rpc is required (e.g. http://127.0.0.1:26657)")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runPortal(ctx, cmd.OutOrStdout(), c, cmdLogger(cmd))
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.nodeRPC, "node-rpc", "", "CometBFT RPC address of the node to follow; it must keep FinalizeBlock results")
	f.StringVar(&c.genesisPath, "genesis", "", "the chain's genesis.json; default: fetched from the node")
	addFollowFlags(cmd, &c)
	return cmd
}

// loadGenesisDoc reads the genesis document from a file, or from the node's RPC.
func loadGenesisDoc(ctx context.Context, path, remote string) (*types.GenesisDoc, error) {
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("genesis: %w", err)
		}
		doc, err := types.GenesisDocFromJSON(b)
		if err != nil {
			return nil, fmt.Errorf("genesis %s: %w", path, err)
		}
		return doc, nil
	}
	c, err := rpchttp.New(remote)
	if err != nil {
		return nil, fmt.Errorf("node rpc %s: %w", remote, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := c.Genesis(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetch genesis from %s: %w", remote, err)
	}
	return res.Genesis, nil
}
