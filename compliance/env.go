package compliance

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// Querier is what rules read through: a pgx transaction (the runner's, so that reads and
// writes of a pass see one snapshot) or a pool (backtests).
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Env is what a rule evaluation reads: the database and caches of what does not change
// (accounts' owners, kinds and sponsors).
type Env struct {
	q        Querier
	accounts map[string]*acct
	// moves caches the unfiltered coin movements of a range: LV-INST, LV-IND, STRUCT and
	// RAPID all start from those of the pass's range.
	moves map[moveRange][]coinMove
	// lv caches what LV-INST and LV-IND share of a range.
	lv map[moveRange]*lvDay
	// holdings caches the owners' holdings series of a range.
	holdings map[holdRange]ownerSeries
	// tradeLoads caches the trades loaded, by the end of their range.
	tradeLoads map[int64]*tradeLoad
	// state is the rules' window state (state.go).
	state *windowState
	// WatchlistVersion is the watch list the WATCH rule reads; 0 means none uploaded.
	WatchlistVersion int32
}

// NewEnv returns an environment reading through q, window state from rule_state.
func NewEnv(q Querier) *Env {
	return &Env{q: q, accounts: map[string]*acct{}, moves: map[moveRange][]coinMove{}, lv: map[moveRange]*lvDay{},
		holdings: map[holdRange]ownerSeries{}, tradeLoads: map[int64]*tradeLoad{}, state: newWindowState(false)}
}

// moveRange is the range of a coinMoves load.
type moveRange struct {
	h1, h2 int64
	t1, t2 int64 // Unix nanoseconds
}

// acct is what rules need of an account.
type acct struct {
	addr    []byte
	owner   []byte
	kind    string
	sponsor string
}

// shanghai is China Standard Time, the market's clock (no daylight saving since 1991).
var shanghai = time.FixedZone("CST", 8*3600)

// marketDay is the Shanghai calendar day of t, as text.
func marketDay(t time.Time) string { return t.In(shanghai).Format("2006-01-02") }

// shanghaiDayNumber numbers t's Shanghai day (days since 1970-01-01 there): the same number
// is the same marketDay, at the cost of a division.
func shanghaiDayNumber(t time.Time) int64 {
	s := t.Unix() + 8*3600
	if s < 0 {
		return (s+1)/86400 - 1
	}
	return s / 86400
}

// dayStart is the start of t's Shanghai day.
func dayStart(t time.Time) time.Time {
	lt := t.In(shanghai)
	return time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, shanghai)
}

func addrHex(a []byte) string  { return hex.EncodeToString(a) }
func ownerHex(o []byte) string { return upperHex(o) }
func hashHex(h []byte) string  { return upperHex(h) }

// upperHex is strings.ToUpper(hex.EncodeToString(b)) in one allocation: rules format a hash
// for every finding and every item of evidence.
func upperHex(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&0x0f]
	}
	return string(out)
}

// maxAccountsLoad bounds one account lookup.
const maxAccountsLoad = 10_000

// account returns a cached account, loading those not yet seen. An address the store does
// not know (it cannot happen for a synced block) yields an individual with an owner of its
// own, the strictest reading.
func (e *Env) loadAccounts(ctx context.Context, addrs [][]byte) error {
	var missing [][]byte
	seen := map[string]bool{}
	for _, a := range addrs {
		if a == nil || e.accounts[string(a)] != nil || seen[string(a)] {
			continue
		}
		seen[string(a)] = true
		missing = append(missing, a)
	}
	for len(missing) > 0 {
		n := min(len(missing), maxAccountsLoad)
		chunk := missing[:n]
		missing = missing[n:]
		rows, err := e.q.Query(ctx, `SELECT address, owner_ref, kind, sponsor FROM accounts WHERE address = ANY($1)`, chunk)
		if err != nil {
			return fmt.Errorf("load accounts: %w", err)
		}
		for rows.Next() {
			a := &acct{}
			if err := rows.Scan(&a.addr, &a.owner, &a.kind, &a.sponsor); err != nil {
				rows.Close()
				return fmt.Errorf("load accounts: %w", err)
			}
			e.accounts[string(a.addr)] = a
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load accounts: %w", err)
		}
		for _, a := range chunk {
			if e.accounts[string(a)] == nil {
				e.accounts[string(a)] = &acct{addr: a, owner: append([]byte("unknown:"), a...), kind: "individual"}
			}
		}
	}
	return nil
}

// acct returns a loaded account; loadAccounts must have seen it.
func (e *Env) acct(a []byte) *acct {
	if x := e.accounts[string(a)]; x != nil {
		return x
	}
	return &acct{addr: a, owner: append([]byte("unknown:"), a...), kind: "individual"}
}

// blockTimes returns the times of the stored blocks from h1 to h2, the time of h at
// h - h1.
func (e *Env) blockTimes(ctx context.Context, h1, h2 int64) ([]time.Time, error) {
	n := h2 - h1 + 1
	out := make([]time.Time, 0, n)
	rows, err := e.q.Query(ctx, "SELECT height, time FROM blocks WHERE height BETWEEN $1 AND $2 ORDER BY height", h1, h2)
	if err != nil {
		return nil, fmt.Errorf("block times %d-%d: %w", h1, h2, err)
	}
	var h int64
	var t time.Time
	_, err = pgx.ForEachRow(rows, []any{&h, &t}, func() error {
		if h != h1+int64(len(out)) {
			return fmt.Errorf("no block %d", h1+int64(len(out)))
		}
		out = append(out, t)
		return nil
	})
	if err == nil && int64(len(out)) != n {
		err = fmt.Errorf("no block %d", h1+int64(len(out)))
	}
	if err != nil {
		return nil, fmt.Errorf("block times %d-%d: %w", h1, h2, err)
	}
	return out, nil
}

// blockTime returns the time of a stored block.
func (e *Env) blockTime(ctx context.Context, h int64) (time.Time, error) {
	var t time.Time
	if err := e.q.QueryRow(ctx, "SELECT time FROM blocks WHERE height = $1", h).Scan(&t); err != nil {
		return time.Time{}, fmt.Errorf("block %d: %w", h, err)
	}
	return t, nil
}

// sizeHint is how many rows of about one per transaction a read of heights [h1, h2] may
// allocate for up front, within limit: a slice of a million legs grown by appending spent a
// tenth of a pass copying itself, with the write barriers of a collection under way. Any
// error makes it 0, and the read grows the slice as it goes.
func (e *Env) sizeHint(ctx context.Context, h1, h2 int64, perTx float64, limit int) int {
	var n int64
	if err := e.q.QueryRow(ctx, "SELECT coalesce(sum(tx_count - failed_count), 0) FROM blocks WHERE height BETWEEN $1 AND $2", h1, h2).Scan(&n); err != nil {
		return 0
	}
	return min(int(float64(n)*perTx), limit)
}

// heightAt returns the first height at or after t (0 when t precedes every block).
func (e *Env) heightAtOrAfter(ctx context.Context, t time.Time) (int64, error) {
	var h int64
	err := e.q.QueryRow(ctx, "SELECT coalesce(min(height), 0) FROM blocks WHERE time >= $1", t).Scan(&h)
	if err != nil {
		return 0, fmt.Errorf("height at %s: %w", t, err)
	}
	return h, nil
}

// coinMove is one movement of the settlement coin: a transfer leg, a mint (From nil) or a
// burn (To nil).
type coinMove struct {
	height   int64
	idx      int32
	seq      int16
	time     time.Time
	hash     []byte
	from, to []byte
	amount   int64
	kind     string // transfer, cash, settlement, mint, burn
}

// maxCoinMoves bounds the coin movements one evaluation loads; a wider window is an error
// that tells the operator to evaluate fewer blocks at a time.
const maxCoinMoves = 2_000_000

// coinMoves loads the coin movements in heights [h1, h2] (block times [t1, t2]) that touch one
// of accounts, or all of them when accounts is nil, ordered as executed. The unfiltered
// loads are cached for the Env's life: callers must not modify what it returns.
func (e *Env) coinMoves(ctx context.Context, h1, h2 int64, t1, t2 time.Time, accounts [][]byte) ([]coinMove, error) {
	if accounts != nil {
		return e.loadCoinMoves(ctx, h1, h2, t1, t2, accounts)
	}
	k := moveRange{h1, h2, t1.UnixNano(), t2.UnixNano()}
	if ms, ok := e.moves[k]; ok {
		return ms, nil
	}
	ms, err := e.loadCoinMoves(ctx, h1, h2, t1, t2, nil)
	if err != nil {
		return nil, err
	}
	e.moves[k] = ms
	return ms, nil
}

// loadCoinMoves is coinMoves without the cache.
func (e *Env) loadCoinMoves(ctx context.Context, h1, h2 int64, t1, t2 time.Time, accounts [][]byte) ([]coinMove, error) {
	var out []coinMove
	if accounts == nil {
		out = make([]coinMove, 0, e.sizeHint(ctx, h1, h2, 1, maxCoinMoves))
	}
	filter := ""
	args := []any{ledger.CoinSymbol, t1, t2, h1, h2}
	if accounts != nil {
		filter = " AND (l.from_addr = ANY($6) OR l.to_addr = ANY($6))"
		args = append(args, accounts)
	}
	rows, err := e.q.Query(ctx, `SELECT l.height, l.tx_idx, l.seq, l.block_time, l.tx_hash, l.from_addr, l.to_addr, l.amount, l.leg
		FROM transfer_legs l
		WHERE l.asset = $1 AND l.block_time BETWEEN $2 AND $3 AND l.height BETWEEN $4 AND $5`+filter, args...)
	if err != nil {
		return nil, fmt.Errorf("coin legs: %w", err)
	}
	for rows.Next() {
		var m coinMove
		if err := rows.Scan(&m.height, &m.idx, &m.seq, &m.time, &m.hash, &m.from, &m.to, &m.amount, &m.kind); err != nil {
			rows.Close()
			return nil, fmt.Errorf("coin legs: %w", err)
		}
		out = append(out, m)
		if len(out) > maxCoinMoves {
			rows.Close()
			return nil, fmt.Errorf("more than %d coin movements in %d..%d: evaluate fewer blocks at a time: %w", maxCoinMoves, h1, h2, ErrInvalid)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("coin legs: %w", err)
	}
	want := map[string]bool{}
	for _, a := range accounts {
		want[string(a)] = true
	}
	rows, err = e.q.Query(ctx, `SELECT height, idx, block_time, hash, type, signer, counterparty, amount FROM transactions
		WHERE type IN ('mint', 'burn') AND code = 0 AND asset = $1 AND block_time BETWEEN $2 AND $3 AND height BETWEEN $4 AND $5`,
		ledger.CoinSymbol, t1, t2, h1, h2)
	if err != nil {
		return nil, fmt.Errorf("coin mints and burns: %w", err)
	}
	for rows.Next() {
		var m coinMove
		var typ string
		var signer, cp []byte
		if err := rows.Scan(&m.height, &m.idx, &m.time, &m.hash, &typ, &signer, &cp, &m.amount); err != nil {
			rows.Close()
			return nil, fmt.Errorf("coin mints and burns: %w", err)
		}
		m.kind, m.seq = typ, -1
		if typ == "mint" {
			m.to = cp
		} else {
			m.from = signer
		}
		if accounts != nil && !want[string(m.to)] && !want[string(m.from)] {
			continue
		}
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("coin mints and burns: %w", err)
	}
	sortMoves(out)
	return out, nil
}

func sortMoves(ms []coinMove) {
	sortSlice(ms, func(a, b *coinMove) bool {
		if a.height != b.height {
			return a.height < b.height
		}
		if a.idx != b.idx {
			return a.idx < b.idx
		}
		return a.seq < b.seq
	})
}

// touched returns the distinct accounts the moves touch, in first-seen order.
func touched(ms []coinMove) [][]byte {
	seen := map[string]bool{}
	var out [][]byte
	for _, m := range ms {
		for _, a := range [][]byte{m.from, m.to} {
			if a != nil && !seen[string(a)] {
				seen[string(a)] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// scan runs a query and calls each for every row; what names the read in errors.
func (e *Env) scan(ctx context.Context, what string, each func(pgx.Rows) error, sql string, args ...any) error {
	rows, err := e.q.Query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
