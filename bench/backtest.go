package bench

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/ledgerscope/ledgerscope/compliance"
	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/store"
)

// The synthetic history the backtest runs on: BacktestTxs transactions in blocks of
// backtestPerBlock over BacktestDays from backtestStart (midnight in Shanghai, so the window is
// whole market days, and it crosses a month, so two partitions), written backtestChunk rows per
// COPY.
const (
	backtestPerBlock = 100
	backtestChunk    = 1_000_000
	// Every backtestLargeEvery-th transaction is a large coin transfer, from
	// backtestLargeMin fen up to twice that; the others move at most CNY 10,000.
	backtestLargeEvery = 1000
	backtestLargeMin   = 25_000_000
)

var backtestStart = time.Date(2026, 6, 15, 16, 0, 0, 0, time.UTC)

// The backtest: LV-IND with its threshold lowered from CNY 500,000 to backtestLargeMin fen
// (CNY 250,000), so that each large transfer flags its individual payer's and payee's day.
// LV-IND is the representative rule: it reads every coin movement of the range (as LV-INST,
// STRUCT and RAPID do) and, for each account it touches, the whole day so far, the same work
// as the live rule; STRUCT looks further back only for the payers in its band, so its cost
// would measure how many of those the synthetic data holds.
var (
	backtestRule = compliance.RuleLVInd
	backtestSet  = map[string]string{"threshold": fmt.Sprint(backtestLargeMin)}
)

// backtestAccounts is how many party accounts the synthetic history has: as many as the query
// figures at full size, fewer for small runs so that accounts still trade every day.
func backtestAccounts(txs int) int { return min(200_000, max(1000, txs/50)) }

// synth generates the synthetic history: a fixed function of the transaction's index, so that
// every run loads the same rows. Parties come in pairs with one beneficial owner, one in ten is
// an institution; the mix is memchain's (half coin transfers, a quarter stock transfers, DvP
// trades settled by the venue, a little mint and burn, one in fifty failing).
type synth struct {
	txs, accounts, blocks int64
	step                  time.Duration
	bank, venue           []byte
}

func newSynth(txs, days int) synth {
	blocks := (int64(txs) + backtestPerBlock - 1) / backtestPerBlock
	s := synth{txs: int64(txs), accounts: int64(backtestAccounts(txs)), blocks: blocks,
		step: time.Duration(days) * 24 * time.Hour / time.Duration(blocks)}
	s.bank, s.venue = s.addr(s.accounts), s.addr(s.accounts+1)
	return s
}

// addr is account a's address; a = accounts and accounts+1 are the bank and the venue.
func (s synth) addr(a int64) []byte {
	b := make([]byte, 20)
	binary.BigEndian.PutUint64(b[12:], uint64(a)+1)
	return b
}

func (s synth) blockTime(h int64) time.Time { return backtestStart.Add(time.Duration(h-1) * s.step) }

// synthTx is one transaction and the legs it moved.
type synthTx struct {
	height        int64
	idx           int32
	time          time.Time
	hash          []byte
	typ           string
	signer, cp    []byte
	member, asset string
	nonce, amount int64
	code          int32
	reason        string
	legs          [][]any // leg, from, to, asset, amount
}

// tx is transaction i.
func (s synth) tx(i int64) synthTx {
	x := uint64(i)*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
	x ^= x >> 29
	from := int64(x % uint64(s.accounts))
	to := (from + 1 + int64((x>>20)%uint64(s.accounts-1))) % s.accounts
	amt := int64(1 + (x>>40)%1000)
	stock := queryAssets[1+(x>>12)%uint64(len(queryAssets)-1)]
	h := i/backtestPerBlock + 1
	hash := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("bench-backtest-tx"), uint64(i)))
	t := synthTx{height: h, idx: int32(i % backtestPerBlock), time: s.blockTime(h), hash: hash[:], nonce: i/1000 + 1,
		signer: s.addr(from), cp: s.addr(to), member: queryMembers[from%int64(len(queryMembers))]}
	coin := ledger.CoinSymbol
	switch k := (x >> 8) % 100; {
	case i%50 == 49:
		t.typ, t.asset, t.amount, t.code, t.reason = "transfer", stock, amt, 20, "insufficient balance"
	case i%backtestLargeEvery == backtestLargeEvery/2:
		t.typ, t.asset, t.amount = "transfer", coin, backtestLargeMin+int64(x>>40)%backtestLargeMin
		t.legs = [][]any{{"transfer", t.signer, t.cp, coin, t.amount}}
	case k < 50:
		t.typ, t.asset, t.amount = "transfer", coin, amt*100
		t.legs = [][]any{{"transfer", t.signer, t.cp, coin, t.amount}}
	case k < 75:
		t.typ, t.asset, t.amount = "transfer", stock, amt
		t.legs = [][]any{{"transfer", t.signer, t.cp, stock, t.amount}}
	case k < 98:
		seller, buyer := t.signer, t.cp
		t.typ, t.asset, t.amount, t.signer, t.cp, t.member = "settle_dvp", stock, amt, s.venue, seller, "SZFE"
		t.legs = [][]any{{"asset", seller, buyer, stock, amt}, {"cash", buyer, seller, coin, amt * 1000}}
	case k < 99:
		t.typ, t.asset, t.amount, t.signer, t.member = "mint", coin, amt*100, s.bank, "BOCS"
	default:
		t.typ, t.asset, t.amount, t.signer, t.cp, t.member = "burn", coin, amt, s.bank, nil, "BOCS"
	}
	return t
}

// rowSource feeds a COPY from a generator of rows, without holding them.
type rowSource struct {
	next func() ([]any, bool)
	row  []any
}

var _ pgx.CopyFromSource = (*rowSource)(nil)

// Next implements pgx.CopyFromSource.
func (r *rowSource) Next() bool {
	var ok bool
	r.row, ok = r.next()
	return ok
}

// Values implements pgx.CopyFromSource.
func (r *rowSource) Values() ([]any, error) { return r.row, nil }

// Err implements pgx.CopyFromSource; generating rows cannot fail.
func (r *rowSource) Err() error { return nil }

// copyRows writes the rows next generates into table with COPY.
func copyRows(ctx context.Context, db *store.DB, table string, cols []string, next func() ([]any, bool)) error {
	if _, err := db.Pool.CopyFrom(ctx, pgx.Identifier{table}, cols, &rowSource{next: next}); err != nil {
		return fmt.Errorf("copy %s: %w", table, err)
	}
	return nil
}

// load writes the synthetic history into db: accounts, blocks, transactions and their legs.
func (s synth) load(ctx context.Context, db *store.DB, progress func(string, ...any)) (coinMoves int64, err error) {
	if _, err := db.Pool.Exec(ctx, "SELECT ensure_month_partitions($1, $2)", backtestStart, s.blockTime(s.blocks)); err != nil {
		return 0, fmt.Errorf("partitions: %w", err)
	}
	a := int64(0)
	err = copyRows(ctx, db, "accounts", []string{"address", "pubkey", "sponsor", "kind", "owner_ref", "status", "height", "updated_height"}, func() ([]any, bool) {
		if a > s.accounts+1 {
			return nil, false
		}
		pub := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("bench-backtest-pubkey"), uint64(a)))
		ownerID := uint64(a / 2)
		if a >= s.accounts {
			ownerID = uint64(a) << 32 // the bank and the venue share no owner with a party
		}
		owner := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("bench-backtest-owner"), ownerID))
		sponsor, kind := queryMembers[a%int64(len(queryMembers))], "individual"
		switch {
		case a == s.accounts:
			sponsor, kind = "BOCS", "institution"
		case a == s.accounts+1:
			sponsor, kind = "SZFE", "institution"
		case a%10 == 9:
			kind = "institution"
		}
		row := []any{s.addr(a), pub[:], sponsor, kind, owner[:], "active", int64(1), int64(1)}
		a++
		return row, true
	})
	if err != nil {
		return 0, err
	}
	h := int64(1)
	err = copyRows(ctx, db, "blocks", []string{"height", "hash", "time", "proposer", "app_hash", "tx_count", "failed_count"}, func() ([]any, bool) {
		if h > s.blocks {
			return nil, false
		}
		hash := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("bench-backtest-block"), uint64(h)))
		n := min(s.txs-(h-1)*backtestPerBlock, backtestPerBlock)
		row := []any{h, hash[:], s.blockTime(h), make([]byte, 20), hash[:], int32(n), int32(n / 50)}
		h++
		return row, true
	})
	if err != nil {
		return 0, err
	}
	err = withoutIndexes(ctx, db, func() error { return s.loadTxs(ctx, db, &coinMoves, progress) })
	if err != nil {
		return 0, err
	}
	if _, err := db.Pool.Exec(ctx, "VACUUM ANALYZE accounts, blocks, transactions, settlement_legs"); err != nil {
		return 0, fmt.Errorf("analyze: %w", err)
	}
	return coinMoves, nil
}

// loadTxs copies the transactions and their legs, counting the coin legs in coinMoves.
func (s synth) loadTxs(ctx context.Context, db *store.DB, coinMoves *int64, progress func(string, ...any)) error {
	for lo := int64(0); lo < s.txs; lo += backtestChunk {
		hi := min(lo+backtestChunk, s.txs)
		progress("backtest: copying synthetic transactions %d-%d of %d and their legs", lo, hi-1, s.txs)
		// The two tables' COPYs run side by side: the server's index upkeep is the cost, and
		// each COPY is one backend on one core.
		var g errgroup.Group
		g.Go(func() error {
			i := lo
			return copyRows(ctx, db, "transactions", []string{"block_time", "height", "idx", "hash", "type", "signer", "member", "nonce", "asset", "amount", "counterparty", "code", "reason"}, func() ([]any, bool) {
				if i >= hi {
					return nil, false
				}
				t := s.tx(i)
				i++
				return []any{t.time, t.height, t.idx, t.hash, t.typ, t.signer, t.member, t.nonce, t.asset, t.amount, t.cp, t.code, t.reason}, true
			})
		})
		g.Go(func() error {
			i := lo
			var pending [][]any
			var cur synthTx
			return copyRows(ctx, db, "settlement_legs", []string{"block_time", "height", "tx_idx", "seq", "leg", "from_addr", "to_addr", "asset", "amount", "tx_hash"}, func() ([]any, bool) {
				for {
					for len(pending) == 0 {
						if i >= hi {
							return nil, false
						}
						cur = s.tx(i)
						pending = cur.legs
						i++
					}
					l := pending[0]
					seq := int16(len(cur.legs) - len(pending))
					pending = pending[1:]
					if l[3] == ledger.CoinSymbol {
						*coinMoves++
					}
					if l[0] == "transfer" {
						continue // the transfer_legs view reads it from the tx row
					}
					return []any{cur.time, cur.height, cur.idx, seq, l[0], l[1], l[2], l[3], l[4], cur.hash}, true
				}
			})
		})
		if err := g.Wait(); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// withoutIndexes runs load with the secondary indexes set aside and rebuilds them after, as
// ledgersync's initial load does: the rule then reads the very indexes the migrations define.
func withoutIndexes(ctx context.Context, db *store.DB, load func() error) error {
	if _, err := db.DeferIndexes(ctx); err != nil {
		return err
	}
	if err := load(); err != nil {
		return err
	}
	_, err := db.RestoreIndexes(ctx, nil, nil)
	return err
}

// backtest loads BacktestTxs synthetic transactions over BacktestDays into a fresh database
// (not timed), then times compliance.Backtest of one rule with a changed parameter over all of
// it, as `ledgerscope rules backtest` and the portal run it.
func (s *scratch) backtest(ctx context.Context, cfg SyncConfig, progress func(string, ...any)) ([]Row, error) {
	db, err := s.db(ctx, "backtest")
	if err != nil {
		return nil, err
	}
	sy := newSynth(cfg.BacktestTxs, cfg.BacktestDays)
	start := time.Now()
	moves, err := sy.load(ctx, db, progress)
	if err != nil {
		return nil, err
	}
	loaded := time.Since(start)

	progress("backtest: %s over %d blocks", backtestRule, sy.blocks)
	start = time.Now()
	res, err := compliance.Backtest(ctx, db, compliance.BacktestRequest{RuleID: backtestRule, Set: backtestSet, From: 1, To: sy.blocks})
	if err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	if len(res.Would) == 0 {
		// A backtest that flags nothing may not have read what it should.
		return nil, fmt.Errorf("backtest of %s with %v flagged nothing: %w", backtestRule, backtestSet, errNoRows)
	}
	return []Row{
		{Name: fmt.Sprintf("%d-day backtest of one rule", cfg.BacktestDays), Value: elapsed.Seconds(), Unit: "s",
			Note: fmt.Sprintf("%s with threshold %s fen (CNY %d, half the default) over %d synthetic txs (%d coin movements) in %d blocks, %d accounts, bulk-loaded with COPY and indexed after (not synced, not timed) in %.0f s; backtest chunks of %d blocks; would flag %d account-days (%d added, %d removed: no live violations)",
				backtestRule, backtestSet["threshold"], backtestLargeMin/100, sy.txs, moves, sy.blocks, sy.accounts+2, loaded.Seconds(),
				compliance.DefaultBacktestChunk, len(res.Would), len(res.Added), len(res.Removed))},
		{Name: "  backtest rate", Value: float64(sy.txs) / elapsed.Seconds(), Unit: "tx/s",
			Note: fmt.Sprintf("%.0f coin movements/s", float64(moves)/elapsed.Seconds())},
	}, nil
}
