package portal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/types"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/node"
)

// genesisTimeout bounds fetching the genesis from a remote node.
const genesisTimeout = 30 * time.Second

// loadGenesis finds the chain's genesis: a file, the one a node home already holds, or,
// following a remote node, the node's.
func (p *Portal) loadGenesis(ctx context.Context) (*types.GenesisDoc, error) {
	c := p.cfg
	switch {
	case c.GenesisPath != "":
		p.genesis = c.GenesisPath
		return loadGenesisDoc(ctx, c.GenesisPath, "")
	case c.NoNode:
		p.genesis = "fetched from " + c.NodeRPC
		return loadGenesisDoc(ctx, "", c.NodeRPC)
	}
	path := filepath.Join(c.Home, "config", "genesis.json")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s holds no node yet: give --genesis (and --peers), or --from-devnet: %w", c.Home, err)
	}
	p.genesis = path
	return loadGenesisDoc(ctx, path, "")
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
	ctx, cancel := context.WithTimeout(ctx, genesisTimeout)
	defer cancel()
	res, err := c.Genesis(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetch genesis from %s: %w", remote, err)
	}
	return res.Genesis, nil
}

// dialNode makes the client of the remote node the sync follows without a node of its own.
func (p *Portal) dialNode(context.Context) error {
	if p.cfg.source != nil {
		p.src = p.cfg.source
		return nil
	}
	src, err := node.NewRPCSource(node.RPCSourceConfig{Remote: p.cfg.NodeRPC})
	if err != nil {
		return err
	}
	p.src = src
	return nil
}

// startNode initialises the home on a first start and starts the full node with the ledger app.
func (p *Portal) startNode(ctx context.Context) error {
	c := &p.cfg
	if err := c.resume(); err != nil {
		return err
	}
	if len(c.Peers) == 0 {
		return fmt.Errorf("no peers to follow: give --peers nodeid@host:port,... or --from-devnet")
	}
	cfg := p.nodeConfig()
	if err := node.InitHome(cfg, p.doc, node.Keys{}); err != nil {
		return fmt.Errorf("portal home %s (a home follows one chain; use another --home for another): %w", c.Home, err)
	}
	if err := writeState(c.Home, c.state()); err != nil {
		return err
	}
	app, err := ledger.NewApp(ledger.Config{Dir: filepath.Join(c.Home, "data", "ledger"), Logger: p.log.With("node", c.Moniker),
		HistoryBlocks: c.HistoryBlocks, RetainHeight: p.retain.height})
	if err != nil {
		return fmt.Errorf("portal ledger: %w", err)
	}
	p.resumed = app.Height()
	nd, err := node.Start(ctx, cfg, app)
	if err != nil {
		return errors.Join(fmt.Errorf("portal node: %w", err), app.Close())
	}
	p.app, p.node, p.src = app, nd, nd
	return nil
}

// nodeConfig is the configuration of the portal's non-validating full node.
func (p *Portal) nodeConfig() node.Config {
	c := p.cfg
	cfg := node.FullNodeConfig(c.Home, c.Moniker)
	cfg.P2PListen = c.P2PListen
	cfg.P2PExternal = c.P2PExternal
	cfg.RPCListen = c.RPCListen
	cfg.PersistentPeers = c.Peers
	// The ledger app guards its own state, so CheckTx calls may run at once and while a
	// block executes; and its CheckTx keeps nonce bookkeeping across blocks, so rechecking
	// the mempool after every block buys nothing but CPU. The node keeps a mempool although
	// it never originates transactions: CometBFT v1.0's validators gossip transactions to
	// every peer, and a peer without the mempool channel drops the connection on the first.
	cfg.ABCIConcurrency = node.ABCIConsensusOnly
	cfg.MempoolRecheck = false
	cfg.Logger = p.log
	if c.RetainBlocks > 0 {
		cfg.Tune = tunePruning
	}
	return cfg
}

// watchNode fails the portal when its node halts on its own: a node that disagrees with the
// chain must stop the portal loudly, not leave it serving stale data.
func (p *Portal) watchNode(ctx context.Context) error {
	select {
	case <-p.node.Done():
		if err := p.node.Err(); err != nil {
			return fmt.Errorf("portal node halted: %w", err)
		}
	case <-ctx.Done():
	}
	return nil
}

// stopNode stops the node, then closes the ledger app under it.
func (p *Portal) stopNode() error {
	var errs []error
	if err := p.node.Stop(); err != nil && p.node.Err() == nil {
		errs = append(errs, err)
	}
	return errors.Join(append(errs, p.app.Close())...)
}
