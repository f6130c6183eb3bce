// Package reconcile checks the replicated database against the validated ledger: every
// balance, the supply of every asset and the count of transactions (and of failed ones) in
// PostgreSQL, against the node's state at the same height, the sync cursor's. It reads the
// database through package store and asks the node only through the small Ledger interface
// (ABCI queries at a past height), so it works the same on an in-process app and on a remote
// node over RPC.
package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/store"
)

// Ledger answers the ledger app's ABCI queries (the paths of ledger.App.Query) as the state
// was at a height, and fails when it cannot answer at exactly that height.
type Ledger interface {
	Query(ctx context.Context, path string, height int64) ([]byte, error)
}

// Chain names the block at a height, so that a reconciliation can state that the database and
// the node follow the same chain: the block's hash, and the app hash after executing it (nil
// when the node cannot tell it yet).
type Chain interface {
	BlockHashes(ctx context.Context, height int64) (hash, appHash []byte, err error)
}

// ChainFunc adapts a function to Chain.
type ChainFunc func(ctx context.Context, height int64) (hash, appHash []byte, err error)

// BlockHashes implements Chain.
func (f ChainFunc) BlockHashes(ctx context.Context, height int64) (hash, appHash []byte, err error) {
	return f(ctx, height)
}

// Errors of Run. A difference in the data is not an error: it is what the report lists.
var (
	// ErrNothingSynced means the cursor is still at genesis: there is no height to compare at.
	ErrNothingSynced = errors.New("no block synced yet")
	// ErrOtherBlock means the node's block at the cursor's height is not the stored one: the
	// two follow different chains and comparing their states would mean nothing.
	ErrOtherBlock = errors.New("the node's block differs from the stored block")
	// ErrLedger means the node gave an answer that cannot be right (out of order, another
	// height).
	ErrLedger = errors.New("unexpected answer from the ledger")
)

// Defaults and bounds of Config.
const (
	// DefaultPageSize keeps one /balances answer near a megabyte of JSON.
	DefaultPageSize = 10_000
	// DefaultMaxDifferences bounds the differences a report lists; all are counted.
	DefaultMaxDifferences = 1000
)

// Config configures Run.
type Config struct {
	// DB is the synced database.
	DB *store.DB
	// Ledger is the validated node's app; it must keep the cursor's height (ledger.Config's
	// HistoryBlocks).
	Ledger Ledger
	// Chain, when set, confirms that the node's block at the cursor is the stored one.
	Chain Chain
	// PageSize is the holdings asked per ledger query, 1 to ledger.MaxBalancesPage; 0 means
	// DefaultPageSize.
	PageSize int
	// MaxDifferences bounds Report.Differences; 0 means DefaultMaxDifferences.
	MaxDifferences int
	// Logger receives progress; nil discards.
	Logger *slog.Logger
}

// Kind says what differs.
type Kind string

// Kinds of difference.
const (
	KindBalance Kind = "balance"
	KindLocked  Kind = "locked"
	KindSupply  Kind = "supply"
	KindAsset   Kind = "asset"
	KindTxs     Kind = "transactions"
	KindFailed  Kind = "failed transactions"
)

// Difference is one value that PostgreSQL and the ledger disagree on. A row one side lacks
// counts as zero there, and Note says so.
type Difference struct {
	Kind Kind
	// Account is set for balances.
	Account []byte
	// Asset is set for balances and supplies.
	Asset      string
	PostgreSQL int64
	Ledger     uint64
	Note       string
}

// Report is the outcome of a reconciliation.
type Report struct {
	// ChainID is the chain the database follows.
	ChainID string
	// Height is the cursor's height, where both sides were read; BlockHash, AppHash and
	// BlockTime are the stored block's.
	Height    int64
	BlockHash []byte
	AppHash   []byte
	BlockTime time.Time
	// HashConfirmed and AppHashConfirmed are true when the node confirmed the block hash and
	// the app hash (Config.Chain).
	HashConfirmed, AppHashConfirmed bool
	// Balances is how many holdings were compared (held on either side); Assets how many
	// supplies.
	Balances int64
	Assets   int
	// Txs and Failed are the ledger's counts of executed and failed transactions.
	Txs, Failed uint64
	// Differences lists the first MaxDifferences differences, in the order found.
	Differences []Difference
	// Total counts every difference found, listed or not.
	Total int
	// Took is how long the reconciliation ran.
	Took time.Duration
}

// OK reports whether no difference was found.
func (r *Report) OK() bool { return r.Total == 0 }

// Run reads the database in one snapshot and compares it with the ledger at the cursor's
// height. It returns an error only when the comparison could not be made; differences are in
// the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.DB == nil || cfg.Ledger == nil {
		return nil, errors.New("reconcile: database and ledger are required")
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.PageSize < 1 || cfg.PageSize > ledger.MaxBalancesPage {
		return nil, fmt.Errorf("reconcile: page size %d, want 1 to %d", cfg.PageSize, ledger.MaxBalancesPage)
	}
	if cfg.MaxDifferences <= 0 {
		cfg.MaxDifferences = DefaultMaxDifferences
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	// An initial load rebuilds the holdings only once caught up: before that every balance
	// would show as a difference.
	if n, err := cfg.DB.DeferredIndexes(ctx); err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	} else if n > 0 {
		return nil, errors.New("reconcile: the database is in its initial load, its holdings and indexes rebuilt once it has caught up; run it after that")
	}
	start := time.Now()
	r := &Report{}
	err := cfg.DB.InSnapshot(ctx, func(s *store.Snapshot) error {
		return run(ctx, cfg, s, r)
	})
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	r.Took = time.Since(start)
	cfg.Logger.Info("reconciled", slog.Int64("height", r.Height), slog.Int64("balances", r.Balances),
		slog.Int("assets", r.Assets), slog.Uint64("txs", r.Txs), slog.Int("differences", r.Total),
		slog.Duration("took", r.Took))
	return r, nil
}

func (r *Report) add(limit int, d Difference) {
	r.Total++
	if len(r.Differences) < limit {
		r.Differences = append(r.Differences, d)
	}
}

func run(ctx context.Context, cfg Config, s *store.Snapshot, r *Report) error {
	cur, err := s.Cursor(ctx)
	if err != nil {
		return err
	}
	if cur.Height == 0 {
		// Height 0 would ask the node for its latest state, not genesis.
		return fmt.Errorf("cursor at genesis: %w", ErrNothingSynced)
	}
	blk, err := s.Block(ctx, cur.Height)
	if err != nil {
		return fmt.Errorf("the cursor's block: %w", err)
	}
	r.ChainID, r.Height, r.BlockHash, r.AppHash, r.BlockTime = cur.ChainID, cur.Height, blk.Hash, blk.AppHash, blk.Time
	if cfg.Chain != nil {
		hash, appHash, err := cfg.Chain.BlockHashes(ctx, cur.Height)
		if err != nil {
			return fmt.Errorf("block %d from the node: %w", cur.Height, err)
		}
		if !bytes.Equal(hash, blk.Hash) {
			return fmt.Errorf("block %d: stored %X, node %X: %w", cur.Height, blk.Hash, hash, ErrOtherBlock)
		}
		r.HashConfirmed = true
		if appHash != nil {
			if !bytes.Equal(appHash, blk.AppHash) {
				return fmt.Errorf("app hash after block %d: stored %X, node %X: %w", cur.Height, blk.AppHash, appHash, ErrOtherBlock)
			}
			r.AppHashConfirmed = true
		}
	}
	if err := compareCounts(ctx, cfg, s, r); err != nil {
		return err
	}
	if err := compareSupplies(ctx, cfg, s, r); err != nil {
		return err
	}
	return compareBalances(ctx, cfg, s, r)
}

func query(ctx context.Context, l Ledger, path string, height int64, out any) error {
	raw, err := l.Query(ctx, path, height)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("query %s at %d: %w: %w", path, height, ErrLedger, err)
	}
	return nil
}

func compareCounts(ctx context.Context, cfg Config, s *store.Snapshot, r *Report) error {
	var st struct{ Txs, Failed uint64 }
	if err := query(ctx, cfg.Ledger, "/stats", r.Height, &st); err != nil {
		return err
	}
	total, failed, err := s.TxCounts(ctx)
	if err != nil {
		return err
	}
	r.Txs, r.Failed = st.Txs, st.Failed
	if uint64(total) != st.Txs {
		r.add(cfg.MaxDifferences, Difference{Kind: KindTxs, PostgreSQL: total, Ledger: st.Txs})
	}
	if uint64(failed) != st.Failed {
		r.add(cfg.MaxDifferences, Difference{Kind: KindFailed, PostgreSQL: failed, Ledger: st.Failed})
	}
	return nil
}

func compareSupplies(ctx context.Context, cfg Config, s *store.Snapshot, r *Report) error {
	var assets []struct {
		Symbol string
		Supply uint64
	}
	if err := query(ctx, cfg.Ledger, "/assets", r.Height, &assets); err != nil {
		return err
	}
	rows, err := s.Supplies(ctx)
	if err != nil {
		return err
	}
	// Both lists are in symbol byte order: merge them.
	i, j := 0, 0
	for i < len(rows) || j < len(assets) {
		r.Assets++
		switch {
		case j == len(assets) || i < len(rows) && rows[i].Symbol < assets[j].Symbol:
			r.add(cfg.MaxDifferences, Difference{Kind: KindAsset, Asset: rows[i].Symbol, PostgreSQL: rows[i].Supply, Note: "not on the ledger"})
			i++
		case i == len(rows) || assets[j].Symbol < rows[i].Symbol:
			r.add(cfg.MaxDifferences, Difference{Kind: KindAsset, Asset: assets[j].Symbol, Ledger: assets[j].Supply, Note: "no row in PostgreSQL"})
			j++
		default:
			if rows[i].Supply < 0 || uint64(rows[i].Supply) != assets[j].Supply {
				r.add(cfg.MaxDifferences, Difference{Kind: KindSupply, Asset: rows[i].Symbol, PostgreSQL: rows[i].Supply, Ledger: assets[j].Supply})
			}
			i++
			j++
		}
	}
	return nil
}

// compareBalances merges the database's holdings with the ledger's, both in (account, asset)
// byte order, page by page: memory stays at one page whatever the number of holdings.
func compareBalances(ctx context.Context, cfg Config, s *store.Snapshot, r *Report) error {
	it := &ledgerBalances{l: cfg.Ledger, height: r.Height, size: cfg.PageSize, log: cfg.Logger}
	onlyLedger := func(e *ledger.BalanceEntry) {
		r.Balances++
		r.add(cfg.MaxDifferences, Difference{Kind: KindBalance, Account: e.Account[:], Asset: e.Asset, Ledger: e.Amount, Note: "no row in PostgreSQL"})
		if e.Locked != 0 {
			r.add(cfg.MaxDifferences, Difference{Kind: KindLocked, Account: e.Account[:], Asset: e.Asset, Ledger: e.Locked, Note: "no row in PostgreSQL"})
		}
	}
	err := s.EachBalance(ctx, func(b store.Balance) error {
		for {
			e, err := it.peek(ctx)
			if err != nil {
				return err
			}
			c := 1
			if e != nil {
				c = compareKeys(e.Account[:], e.Asset, b.Account, b.Asset)
			}
			if c < 0 {
				onlyLedger(e)
				it.next()
				continue
			}
			r.Balances++
			if c > 0 {
				r.add(cfg.MaxDifferences, Difference{Kind: KindBalance, Account: b.Account, Asset: b.Asset, PostgreSQL: b.Amount, Note: "not on the ledger"})
				if b.Locked != 0 {
					r.add(cfg.MaxDifferences, Difference{Kind: KindLocked, Account: b.Account, Asset: b.Asset, PostgreSQL: b.Locked, Note: "not on the ledger"})
				}
				return nil
			}
			if b.Amount < 0 || uint64(b.Amount) != e.Amount {
				r.add(cfg.MaxDifferences, Difference{Kind: KindBalance, Account: b.Account, Asset: b.Asset, PostgreSQL: b.Amount, Ledger: e.Amount})
			}
			if b.Locked < 0 || uint64(b.Locked) != e.Locked {
				r.add(cfg.MaxDifferences, Difference{Kind: KindLocked, Account: b.Account, Asset: b.Asset, PostgreSQL: b.Locked, Ledger: e.Locked})
			}
			it.next()
			return nil
		}
	})
	if err != nil {
		return err
	}
	for {
		e, err := it.peek(ctx)
		if err != nil {
			return err
		}
		if e == nil {
			return nil
		}
		onlyLedger(e)
		it.next()
	}
}

func compareKeys(accA []byte, assetA string, accB []byte, assetB string) int {
	if c := bytes.Compare(accA, accB); c != 0 {
		return c
	}
	return strings.Compare(assetA, assetB)
}

// ledgerBalances reads the ledger's holdings page by page.
type ledgerBalances struct {
	l      Ledger
	height int64
	size   int
	log    *slog.Logger

	page  []ledger.BalanceEntry
	i     int
	last  *ledger.BalanceEntry // the last entry of the previous page
	done  bool
	pages int
}

// peek returns the current holding, fetching the next page when needed; nil after the last.
func (it *ledgerBalances) peek(ctx context.Context) (*ledger.BalanceEntry, error) {
	if it.i < len(it.page) {
		return &it.page[it.i], nil
	}
	if it.done {
		return nil, nil
	}
	path := fmt.Sprintf("/balances/%d", it.size)
	if len(it.page) > 0 {
		last := it.page[len(it.page)-1]
		it.last = &last
	}
	if it.last != nil {
		path += "/" + it.last.Account.String() + "/" + it.last.Asset
	}
	var page []ledger.BalanceEntry
	if err := query(ctx, it.l, path, it.height, &page); err != nil {
		return nil, err
	}
	// A page out of order would make the merge report nonsense or never end.
	prev := it.last
	for k := range page {
		e := &page[k]
		if prev != nil && compareKeys(prev.Account[:], prev.Asset, e.Account[:], e.Asset) >= 0 {
			return nil, fmt.Errorf("query %s at %d: holdings out of order at %s/%s: %w", path, it.height, e.Account, e.Asset, ErrLedger)
		}
		prev = e
	}
	if len(page) > it.size {
		return nil, fmt.Errorf("query %s at %d: %d holdings for a page of %d: %w", path, it.height, len(page), it.size, ErrLedger)
	}
	it.page, it.i, it.done = page, 0, len(page) < it.size
	it.pages++
	if it.pages%10 == 0 {
		it.log.Info("reconciling balances", slog.Int("pages", it.pages), slog.Int64("height", it.height))
	}
	if len(page) == 0 {
		return nil, nil
	}
	return &it.page[0], nil
}

func (it *ledgerBalances) next() { it.i++ }
