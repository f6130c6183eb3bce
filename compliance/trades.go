package compliance

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// maxLegs bounds the legs one evaluation reads.
const maxLegs = 2_000_000

// trade is a final settlement: a DvP, or a confirmed gateway settlement.
type trade struct {
	id            []byte
	kind          string
	seller, buyer []byte
	asset, venue  string
	qty, cash     int64
	height        int64
	time          time.Time
}

// tradeLoad is the trades an Env loaded, those final in heights [h1, h2], ordered by
// height and settlement id.
type tradeLoad struct {
	h1, h2 int64
	ts     []trade
}

// trades returns the trades that became final in heights [h1, h2], ordered by height and
// settlement id. MATCHED, SESSION and DVP-ATOM read them for the same range end (MATCHED
// from further back): what was loaded for that end is reused and, for an earlier start,
// extended backwards. Callers must not modify what it returns.
func (e *Env) trades(ctx context.Context, h1, h2 int64) ([]trade, error) {
	c := e.tradeLoads[h2]
	if c != nil && c.h1 <= h1 {
		from := sort.Search(len(c.ts), func(i int) bool { return c.ts[i].height >= h1 })
		return c.ts[from:], nil
	}
	to := h2
	if c != nil {
		to = c.h1 - 1
	}
	ts, err := e.loadTrades(ctx, h1, to)
	if err != nil {
		return nil, err
	}
	if c != nil {
		ts = append(ts, c.ts...)
	}
	if len(ts) > maxLegs {
		return nil, fmt.Errorf("more than %d trades in %d..%d: %w", maxLegs, h1, h2, ErrInvalid)
	}
	e.tradeLoads[h2] = &tradeLoad{h1, h2, ts}
	return ts, nil
}

// loadTrades is trades without the cache.
func (e *Env) loadTrades(ctx context.Context, h1, h2 int64) ([]trade, error) {
	rows, err := e.q.Query(ctx, `SELECT id, kind, seller, buyer, asset, venue, quantity, cash, opened_height, opened_time FROM settlements
			WHERE kind = 'dvp' AND opened_height BETWEEN $1 AND $2
		UNION ALL SELECT id, kind, seller, buyer, asset, venue, quantity, cash, closed_height, closed_time FROM settlements
			WHERE kind = 'gateway' AND state = 'confirmed' AND closed_height BETWEEN $1 AND $2
		ORDER BY 9, 1`, h1, h2)
	if err != nil {
		return nil, fmt.Errorf("trades: %w", err)
	}
	defer rows.Close()
	var out []trade
	for rows.Next() {
		var t trade
		if err := rows.Scan(&t.id, &t.kind, &t.seller, &t.buyer, &t.asset, &t.venue, &t.qty, &t.cash, &t.height, &t.time); err != nil {
			return nil, fmt.Errorf("trades: %w", err)
		}
		out = append(out, t)
		if len(out) > maxLegs {
			return nil, fmt.Errorf("more than %d trades in %d..%d: %w", maxLegs, h1, h2, ErrInvalid)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("trades: %w", err)
	}
	return out, nil
}
