package compliance

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ledgerscope/ledgerscope/ledger"
)

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

// coinMoveText is a coin movement's kind in words.
func coinMoveText(kind string) string {
	switch kind {
	case "cash":
		return "the cash leg of a DvP"
	case "settlement":
		return "a gateway settlement"
	case "mint", "burn", "transfer":
		return "a " + kind
	}
	return kind
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

// coinCredits sums, for each of accounts, the coin it received in heights [h1, h2] (block
// times [t1, t2]): legs to it and mints, as coinMoves counts them.
func (e *Env) coinCredits(ctx context.Context, accounts [][]byte, h1, h2 int64, t1, t2 time.Time) (map[string]int64, error) {
	out := map[string]int64{}
	err := e.scan(ctx, "coin credits", func(rows pgx.Rows) error {
		var a []byte
		var sum int64
		if err := rows.Scan(&a, &sum); err != nil {
			return err
		}
		out[string(a)] += sum
		return nil
	}, `SELECT to_addr, sum(amount)::bigint FROM transfer_legs
			WHERE to_addr = ANY($1) AND asset = $2 AND block_time BETWEEN $3 AND $4 AND height BETWEEN $5 AND $6 GROUP BY to_addr
		UNION ALL SELECT counterparty, sum(amount)::bigint FROM transactions
			WHERE type = 'mint' AND code = 0 AND asset = $2 AND counterparty = ANY($1) AND block_time BETWEEN $3 AND $4 AND height BETWEEN $5 AND $6 GROUP BY counterparty`,
		accounts, ledger.CoinSymbol, t1, t2, h1, h2)
	return out, err
}

// blockBalances is, for each account, its coin balance after each block of a range that
// moved it, by ascending height.
type blockBalances map[ledger.Address][]heightAmount

// heightAmount is a balance after a block.
type heightAmount struct{ height, amount int64 }

// at returns the account's balance after block h, if h moved it.
func (b blockBalances) at(a []byte, h int64) (int64, bool) {
	hs := b[addrKey(a)]
	i := sort.Search(len(hs), func(i int) bool { return hs[i].height >= h })
	if i < len(hs) && hs[i].height == h {
		return hs[i].amount, true
	}
	return 0, false
}

// addrKey is a stored address (always 20 bytes) as an array: a map of a million of them
// keyed by string spent a third of its time converting and hashing.
func addrKey(b []byte) ledger.Address {
	var a ledger.Address
	copy(a[:], b)
	return a
}

// coinBalancesAfter folds the range's coin movements (all of them, in order, from height
// from) onto the accounts' balances before it, and returns their balances after each block.
// A coin balance moves only by legs, mints and burns (a lock moves nothing), all of them
// among the movements: reading the same from the balance history took a second for a range of
// a million transactions, three times the fold with its one probe per account.
func (e *Env) coinBalancesAfter(ctx context.Context, moves []coinMove, accounts [][]byte, from int64) (blockBalances, error) {
	cur := map[ledger.Address]*int64{}
	for _, a := range accounts {
		cur[addrKey(a)] = new(int64)
	}
	// Up to from-1: only the balance before the range, which the movements then fold.
	err := e.balancesBefore(ctx, accounts, []string{ledger.CoinSymbol}, from, from-1, func(rows pgx.Rows) error {
		var a []byte
		var amount int64
		if err := rows.Scan(&a, nil, nil, &amount); err != nil {
			return err
		}
		if c := cur[addrKey(a)]; c != nil {
			*c = amount
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := blockBalances{}
	var touched []ledger.Address
	for i := 0; i < len(moves); {
		h := moves[i].height
		touched = touched[:0]
		for ; i < len(moves) && moves[i].height == h; i++ {
			m := &moves[i]
			for _, side := range []struct {
				a    []byte
				sign int64
			}{{m.from, -1}, {m.to, 1}} {
				if side.a == nil {
					continue
				}
				k := addrKey(side.a)
				c := cur[k]
				if c == nil {
					continue
				}
				*c += side.sign * m.amount
				if hs := out[k]; len(hs) == 0 || hs[len(hs)-1].height != h {
					out[k] = append(hs, heightAmount{h, 0})
					touched = append(touched, k)
				}
			}
		}
		for _, k := range touched {
			hs := out[k]
			hs[len(hs)-1].amount = *cur[k]
		}
	}
	return out, nil
}
