package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	dbm "github.com/cometbft/cometbft-db"
	abcitypes "github.com/cometbft/cometbft/abci/types"
	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/mempool"
	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	rpccore "github.com/cometbft/cometbft/rpc/core"
	"github.com/cometbft/cometbft/types"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

// Node is a running CometBFT node with its application in this process. It implements
// BlockSource over its own stores.
type Node struct {
	cfg  Config
	log  *slog.Logger
	cmt  *cmtnode.Node
	env  *rpccore.Environment
	dbs  *dbSet
	id   string
	tip  heightWatch
	stop context.CancelFunc // ends the goroutine that follows new heights

	// ready is closed once Start has finished, so a halt raised by CometBFT while the
	// node is still starting waits for it before shutting the node down.
	ready chan struct{}

	haltOnce sync.Once
	errMu    sync.Mutex
	haltErr  error
	stopErr  error

	// storeMu is held for reading around every read of the block and state stores and
	// for writing while marking them closed: CometBFT's stores panic when read after
	// their database is closed.
	storeMu  sync.RWMutex
	closed   bool
	stopping atomic.Bool // set when the node starts to stop
	stopOnce sync.Once
	done     chan struct{}
}

var _ BlockSource = (*Node)(nil)

// Start starts a node from the home that InitHome wrote, with app as its ABCI
// application, and returns once it is running. ctx bounds the start-up only (notably the
// handshake that replays stored blocks the application missed); stop the node with Stop.
//
// A node that finds its application disagreeing with the chain, at start-up or later,
// halts: Start returns an error wrapping ErrAppHashMismatch, or a running node closes
// Done and reports the reason through Err.
func Start(ctx context.Context, cfg Config, app abcitypes.Application) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if app == nil {
		return nil, errors.New("start node: application is nil")
	}
	base := cfg.Logger
	if base == nil {
		base = slog.Default()
	}
	ccfg := cfg.cometConfig()
	if err := ccfg.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("start node: cometbft config: %w", err)
	}
	nodeKey, err := p2p.LoadNodeKey(ccfg.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	pv, err := loadPrivValidator(cfg, ccfg)
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg:   cfg,
		log:   base.With("node", cfg.Moniker),
		dbs:   &dbSet{},
		id:    string(nodeKey.ID()),
		tip:   newHeightWatch(),
		ready: make(chan struct{}),
		done:  make(chan struct{}),
	}
	defer close(n.ready)
	cn, err := n.newComet(ctx, ccfg, pv, nodeKey, app)
	if err != nil {
		// NewNode leaves the databases it opened open when it fails, and a second
		// start in this process would then find them locked.
		n.dbs.closeAll()
		return nil, classify(fmt.Errorf("start node %s: %w", cfg.Moniker, err))
	}
	n.cmt = cn
	if err := n.run(); err != nil {
		n.abandon()
		return nil, fmt.Errorf("start node %s: %w", cfg.Moniker, err)
	}
	n.log.Info("node started", "node_id", n.id, "validator", cfg.Validator, "height", n.tip.height())
	return n, nil
}

// newComet creates the CometBFT node, with app behind it, and n watching its heights and
// halts. It does not start it.
func (n *Node) newComet(ctx context.Context, ccfg *cmtcfg.Config, pv types.PrivValidator, nodeKey *p2p.NodeKey, app abcitypes.Application) (*cmtnode.Node, error) {
	logger := cometLogger{l: n.log.With("component", "cometbft"), min: n.cfg.LogLevel, watch: n.watch, stopping: n.stopping.Load}
	var opts []cmtnode.Option
	if p, ok := app.(Preverifier); ok {
		opts = append(opts, preverifyOption(p, n.done))
	}
	// NewNode panics, rather than failing, when the handshake finds the application's
	// app hash contradicting the stored state.
	var cn *cmtnode.Node
	var newErr error
	err := catch("cometbft panicked", func() {
		cn, newErr = cmtnode.NewNode(ctx, ccfg, pv, nodeKey, clientCreator(n.cfg.ABCIConcurrency, &commitWatch{Application: app, tip: &n.tip}),
			cmtnode.DefaultGenesisDocProviderFunc(ccfg), n.dbs.open,
			cmtnode.DefaultMetricsProvider(ccfg.Instrumentation), logger, opts...)
	})
	if err != nil {
		// The panic text carries a dump of the whole state: log it, return its gist.
		n.log.Error("cometbft panicked while starting", "panic", err)
		return nil, errors.New(firstLine(err.Error()))
	}
	return cn, newErr
}

// run starts n's CometBFT node once its RPC environment is configured and the heights the
// handshake settled are known. The caller abandons n if it fails.
func (n *Node) run() error {
	var err error
	if n.env, err = n.cmt.ConfigureRPC(); err != nil {
		return err
	}
	_, stop := context.WithCancel(context.Background())
	n.stop = stop
	// Heights the handshake settled without calling Commit (the app had committed them)
	// are known from the saved state; later ones from commitWatch.
	state, err := n.env.StateStore.Load()
	if err != nil {
		stop()
		return fmt.Errorf("load state: %w", err)
	}
	n.tip.advance(state.LastBlockHeight)
	if err := n.cmt.Start(); err != nil {
		stop()
		return err
	}
	return nil
}

// abandon releases what a node that failed to start holds: its listeners, its event
// bus and its databases. CometBFT's Stop refuses a node that never started, so its
// OnStop is called directly.
func (n *Node) abandon() {
	n.stopping.Store(true)
	if err := catch("release node", n.cmt.OnStop); err != nil {
		n.log.Warn("releasing a node that failed to start", "err", err)
	}
	n.dbs.closeAll()
	n.markStopped(nil)
}

// loadPrivValidator returns the validator's file signer, or for a full node a throwaway
// key outside any validator set, since CometBFT requires a signer either way.
func loadPrivValidator(cfg Config, ccfg *cmtcfg.Config) (types.PrivValidator, error) {
	if !cfg.Validator {
		return privval.NewFilePV(ed25519.GenPrivKey(), "", ""), nil
	}
	keyPath, statePath := ccfg.PrivValidatorKeyFile(), ccfg.PrivValidatorStateFile()
	// privval.LoadFilePV exits the process on a missing or malformed file, so both are
	// parsed here first to turn that into an error.
	var key privval.FilePVKey
	var state privval.FilePVLastSignState
	for _, f := range []struct {
		path string
		v    any
	}{{keyPath, &key}, {statePath, &state}} {
		b, err := os.ReadFile(f.path)
		if err != nil {
			return nil, fmt.Errorf("start validator: %w", err)
		}
		if err := cmtjson.Unmarshal(b, f.v); err != nil {
			return nil, fmt.Errorf("start validator: read %s: %w", f.path, err)
		}
	}
	if key.PrivKey == nil {
		return nil, fmt.Errorf("start validator: %s holds no private key", keyPath)
	}
	return privval.LoadFilePV(keyPath, statePath), nil
}

func clientCreator(c ABCIConcurrency, app abcitypes.Application) proxy.ClientCreator {
	switch c {
	case ABCIPerConnection:
		return proxy.NewConnSyncLocalClientCreator(app)
	case ABCIConsensusOnly:
		return proxy.NewConsensusSyncLocalClientCreator(app)
	default:
		return proxy.NewLocalClientCreator(app)
	}
}

// Stop stops the node and returns once its databases are closed, so the same home can
// be started again in this process. It returns the reason the node halted, if it halted
// on its own, joined with any error from shutting down.
func (n *Node) Stop() error {
	<-n.ready
	n.shutdown()
	n.errMu.Lock()
	defer n.errMu.Unlock()
	return errors.Join(n.haltErr, n.stopErr)
}

// Done is closed when the node has stopped, whether through Stop or because it halted.
func (n *Node) Done() <-chan struct{} { return n.done }

// Err returns why the node halted on its own (wrapping ErrAppHashMismatch,
// ErrResultsMismatch or ErrConsensusFailure), or nil while it runs or after a plain Stop.
func (n *Node) Err() error {
	n.errMu.Lock()
	defer n.errMu.Unlock()
	return n.haltErr
}

// NodeID returns the node's peer-to-peer id.
func (n *Node) NodeID() string { return n.id }

// P2PAddress returns the "nodeid@host:port" address peers dial, for PersistentPeers.
func (n *Node) P2PAddress() string {
	addr := n.cfg.P2PExternal
	if addr == "" {
		addr = n.cfg.P2PListen
	}
	if u, err := url.Parse(addr); err == nil && u.Host != "" {
		addr = u.Host
	}
	return n.id + "@" + addr
}

// SubmitTx runs tx through CheckTx and, if the application accepts it (res.Code 0),
// adds it to the mempool, from which it is gossiped and proposed: the in-process
// counterpart of the broadcast_tx_sync RPC. An error means the tx was not added; a
// full mempool (mempool.ErrMempoolIsFull) is worth retrying after the next block.
func (n *Node) SubmitTx(tx []byte) (*abcitypes.CheckTxResponse, error) {
	n.storeMu.RLock()
	defer n.storeMu.RUnlock()
	if n.closed {
		return nil, n.stoppedErr()
	}
	rr, err := n.cmt.Mempool().CheckTx(tx, "")
	if err != nil {
		return nil, fmt.Errorf("submit tx: %w", err)
	}
	rr.Wait()
	res := rr.Response.GetCheckTx()
	if res == nil {
		return nil, errors.New("submit tx: no CheckTx response")
	}
	// The mempool reports what happens after CheckTx (full by then, or the same tx
	// already in it) only through the request's callback error. A rejection by the
	// application is not an error here: the caller reads res.Code.
	if err := rr.Error(); err != nil && !errors.As(err, new(mempool.ErrInvalidTx)) {
		return res, fmt.Errorf("submit tx: %w", err)
	}
	return res, nil
}

// watch inspects CometBFT's error records for the conditions it reports only by
// logging. A consensus panic ("CONSENSUS FAILURE!!!", for instance when +2/3 of the
// validators committed a block whose AppHash this node's state contradicts) stops
// CometBFT's consensus routine but leaves the rest of the node running. In block sync an
// "Invalid block" whose commit verified against the validator set but whose AppHash or
// LastResultsHash disagrees means this node, not the peer, is wrong; CometBFT would
// drop the peer, redial it and fetch the same block again for ever.
func (n *Node) watch(msg string, keyvals []any) {
	switch msg {
	case "CONSENSUS FAILURE!!!":
		detail := logValue(keyvals, "err")
		kind := divergence(detail)
		if kind == nil {
			kind = ErrConsensusFailure
		}
		n.halt(fmt.Errorf("%w: block %d: %s", kind, n.tip.height()+1, firstLine(detail)))
	case "Invalid block":
		detail := logValue(keyvals, "err")
		if kind := divergence(detail); kind != nil {
			n.halt(fmt.Errorf("%w: block %s (block sync): %s", kind, logValue(keyvals, "height"), detail))
		}
	}
}

// divergence classifies CometBFT's messages for a block that contradicts this node's
// state. The texts are those of CometBFT v1.0.1 (state/validation.go and
// internal/consensus/replay.go); the package tests fail if they change.
func divergence(text string) error {
	switch {
	case strings.Contains(text, "wrong Block.Header.AppHash"),
		strings.Contains(text, "AppHash does not match AppHash after replay"):
		return ErrAppHashMismatch
	case strings.Contains(text, "wrong Block.Header.LastResultsHash"):
		return ErrResultsMismatch
	}
	return nil
}

// classify makes a start-up error that reports divergence match its sentinel.
func classify(err error) error {
	if kind := divergence(err.Error()); kind != nil && !errors.Is(err, kind) {
		return fmt.Errorf("%w: %w", kind, err)
	}
	return err
}

func logValue(keyvals []any, key string) string {
	for i := 0; i+1 < len(keyvals); i += 2 {
		if k, ok := keyvals[i].(string); ok && k == key {
			return fmt.Sprint(keyvals[i+1])
		}
	}
	return ""
}

// firstLine keeps the first paragraph of s on one line, dropping the state dump that
// some CometBFT panics append after a blank line.
func firstLine(s string) string {
	if i := strings.Index(s, "\n\n"); i >= 0 {
		s = s[:i]
	}
	return strings.Join(strings.Fields(s), " ")
}

// halt records why the node can no longer follow the chain and stops it. It runs on
// CometBFT's goroutines, so the stop happens on a goroutine of its own.
func (n *Node) halt(err error) {
	n.haltOnce.Do(func() {
		n.errMu.Lock()
		n.haltErr = err
		n.errMu.Unlock()
		n.log.Error("node halted", "err", err)
		go func() {
			<-n.ready
			n.shutdown()
		}()
	})
}

func (n *Node) shutdown() {
	n.stopOnce.Do(func() {
		if n.cmt == nil || n.stop == nil {
			// Start failed and already released everything.
			return
		}
		n.stopping.Store(true)
		n.stop()
		// Wait for readers of the stores to finish, and keep new ones out.
		n.storeMu.Lock()
		n.closed = true
		n.storeMu.Unlock()
		err := n.cmt.Stop()
		n.dbs.closeAll()
		n.markStopped(err)
		n.log.Info("node stopped")
	})
}

func (n *Node) markStopped(err error) {
	n.errMu.Lock()
	if err != nil {
		n.stopErr = fmt.Errorf("stop node %s: %w", n.cfg.Moniker, err)
	}
	n.errMu.Unlock()
	n.storeMu.Lock()
	n.closed = true
	n.storeMu.Unlock()
	select {
	case <-n.done:
	default:
		close(n.done)
	}
}

// stoppedErr is what reads from a stopped node return.
func (n *Node) stoppedErr() error {
	if err := n.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrStopped, err)
	}
	return ErrStopped
}

// dbSet opens CometBFT's databases and remembers them: CometBFT closes only some of
// them on stop (not the indexers'), and none when NewNode fails half-way.
type dbSet struct {
	mu  sync.Mutex
	dbs []*guardedDB
}

func (s *dbSet) open(ctx *cmtcfg.DBContext) (dbm.DB, error) {
	var db dbm.DB
	var err error
	if dbm.BackendType(ctx.Config.DBBackend) == dbm.GoLevelDBBackend {
		db, err = dbm.NewGoLevelDBWithOpts(ctx.ID, ctx.Config.DBDir(), levelDBOptions(ctx.ID))
	} else {
		db, err = cmtcfg.DefaultDBProvider(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", ctx.ID, err)
	}
	wrapped := &guardedDB{DB: db}
	s.mu.Lock()
	s.dbs = append(s.dbs, wrapped)
	s.mu.Unlock()
	return wrapped, nil
}

// levelDBOpenFiles bounds the table files each of CometBFT's goleveldb stores keeps open
// (goleveldb's default is 500, per store): a node has four stores that grow for years, and a
// devnet runs five nodes in one process.
const levelDBOpenFiles = 128

// levelDBOptions tunes CometBFT's goleveldb stores for what they hold. Blocks are signed
// transactions and results are hashes and events: snappy gains little on them and cost 4% of
// a block-syncing full node's CPU. A block of 20k transactions is about 4 MB, so the 4 MiB
// default memtable flushed (and started a compaction) at nearly every block; larger ones
// for the two stores written at every height make that a few times rarer.
func levelDBOptions(id string) *opt.Options {
	o := &opt.Options{Compression: opt.NoCompression, OpenFilesCacheCapacity: levelDBOpenFiles}
	switch id {
	case "blockstore":
		o.WriteBuffer = 32 << 20
	case "state":
		o.WriteBuffer = 16 << 20
	}
	return o
}

func (s *dbSet) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, db := range s.dbs {
		_ = db.Close() // A close error leaves nothing to do: the process keeps no handle.
	}
	s.dbs = nil
}

// errDBClosed is what writes to a closed database return.
var errDBClosed = errors.New("database closed")

// guardedDB makes a closed database read as empty instead of failing, and Close
// idempotent. CometBFT v1.0.1 leaves its per-peer consensus gossip goroutines running
// after Stop: they sleep (up to peer_query_maj23_sleep_duration, 2s) and then read the
// block store, whose read errors are panics, so a node stopped in a long-lived process
// would take the process down seconds later. Closing twice panics in pebble.
type guardedDB struct {
	dbm.DB
	mu     sync.RWMutex
	closed bool
}

// Get implements dbm.DB.
func (d *guardedDB) Get(key []byte) ([]byte, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return nil, nil
	}
	return d.DB.Get(key)
}

// Has implements dbm.DB.
func (d *guardedDB) Has(key []byte) (bool, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return false, nil
	}
	return d.DB.Has(key)
}

// Set implements dbm.DB.
func (d *guardedDB) Set(key, value []byte) error {
	return d.write(func() error { return d.DB.Set(key, value) })
}

// SetSync implements dbm.DB.
func (d *guardedDB) SetSync(key, value []byte) error {
	return d.write(func() error { return d.DB.SetSync(key, value) })
}

// Delete implements dbm.DB.
func (d *guardedDB) Delete(key []byte) error {
	return d.write(func() error { return d.DB.Delete(key) })
}

// DeleteSync implements dbm.DB.
func (d *guardedDB) DeleteSync(key []byte) error {
	return d.write(func() error { return d.DB.DeleteSync(key) })
}

// Iterator implements dbm.DB.
func (d *guardedDB) Iterator(start, end []byte) (dbm.Iterator, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return nil, errDBClosed
	}
	return d.DB.Iterator(start, end)
}

// ReverseIterator implements dbm.DB.
func (d *guardedDB) ReverseIterator(start, end []byte) (dbm.Iterator, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return nil, errDBClosed
	}
	return d.DB.ReverseIterator(start, end)
}

// NewBatch implements dbm.DB.
func (d *guardedDB) NewBatch() dbm.Batch {
	return &guardedBatch{Batch: d.DB.NewBatch(), db: d}
}

// Close implements dbm.DB.
func (d *guardedDB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	return d.DB.Close()
}

func (d *guardedDB) write(f func() error) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return errDBClosed
	}
	return f()
}

// guardedBatch refuses to write into a closed database.
type guardedBatch struct {
	dbm.Batch
	db *guardedDB
}

// Write implements dbm.Batch.
func (b *guardedBatch) Write() error { return b.db.write(b.Batch.Write) }

// WriteSync implements dbm.Batch.
func (b *guardedBatch) WriteSync() error { return b.db.write(b.Batch.WriteSync) }
