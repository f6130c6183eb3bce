package compliance

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
	// operators maps a member's operator key to the member, once evidence names one.
	operators map[string]string
	// decimals are the assets' decimals, loaded for the amounts of findings.
	decimals map[string]uint8
	// WatchlistVersion is the watch list the WATCH rule reads; 0 means none uploaded.
	WatchlistVersion int32
}

// NewEnv returns an environment reading through q, window state from rule_state.
func NewEnv(q Querier) *Env {
	return &Env{q: q, accounts: map[string]*acct{}, moves: map[moveRange][]coinMove{}, lv: map[moveRange]*lvDay{},
		holdings: map[holdRange]ownerSeries{}, tradeLoads: map[int64]*tradeLoad{}, decimals: map[string]uint8{}, state: newWindowState(false)}
}

// moveRange is the range of a coinMoves load.
type moveRange struct {
	h1, h2 int64
	t1, t2 int64 // Unix nanoseconds
}

// shanghai is China Standard Time, the market's clock (no daylight saving since 1991).
var shanghai = time.FixedZone("CST", 8*3600)

// marketDay is the Shanghai calendar day of t, as text.
func marketDay(t time.Time) string { return t.In(shanghai).Format("2006-01-02") }

// timeText is a time as the rules write it in summaries and evidence: to the second, in
// Shanghai, with its zone.
func timeText(t time.Time) string { return t.In(shanghai).Format("2006-01-02 15:04:05 MST") }

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
