package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/types"
	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/ledger/node"
	"github.com/ledgerscope/ledgerscope/ledgersync"
	"github.com/ledgerscope/ledgerscope/store"
)

// syncConfig is the sync command's flags.
type syncConfig struct {
	db       dbConfig
	nodeRPC  string
	genesis  string
	logEvery int64
	rules    bool
}

// newSyncCmd is `ledgerscope sync --node-rpc URL`: ledgersync following a remote node over
// CometBFT's RPC. The portal command runs the same worker on its embedded node (newSyncWorker).
func newSyncCmd() *cobra.Command {
	var c syncConfig
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Replicate a node's committed blocks into PostgreSQL, exactly once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.nodeRPC == "" {
				return errorf("--node-rpc is required (e.g. http://127.0.0.1:26657)")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log := cliLogger()
			doc, err := loadGenesisDoc(ctx, c.genesis, c.nodeRPC)
			if err != nil {
				return err
			}
			g, err := ledgersync.GenesisFromDoc(doc)
			if err != nil {
				return err
			}
			src, err := node.NewRPCSource(node.RPCSourceConfig{Remote: c.nodeRPC})
			if err != nil {
				return err
			}
			d, err := openDatabase(ctx, c.db, log, true)
			if err != nil {
				return err
			}
			defer d.Close()
			w, err := newSyncWorker(src, d.DB, g, c.logEvery, log)
			if err != nil {
				return err
			}
			if c.rules {
				if err := startRules(ctx, d, log); err != nil {
					return err
				}
			}
			return w.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.nodeRPC, "node-rpc", "", "CometBFT RPC address of the node to follow; it must keep FinalizeBlock results")
	f.StringVar(&c.genesis, "genesis", "", "the chain's genesis.json; default: fetched from the node")
	f.Int64Var(&c.logEvery, "log-every", ledgersync.DefaultLogEvery, "log progress every this many blocks")
	f.BoolVar(&c.rules, "rules", true, "evaluate the compliance rules behind the sync")
	addDBFlags(cmd, &c.db)
	return cmd
}

// newSyncWorker builds the worker for a block source; the caller runs it (w.Run(ctx)) and
// reads w.Metrics() for the status page and /metrics.
func newSyncWorker(src node.BlockSource, db *store.DB, g store.Genesis, logEvery int64, log *slog.Logger) (*ledgersync.Worker, error) {
	return ledgersync.New(ledgersync.Config{Source: src, DB: db, Genesis: g, LogEvery: logEvery, Logger: log.With("component", "ledgersync")})
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
