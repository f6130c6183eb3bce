package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ledgerscope/ledgerscope/store"
)

// The synthetic history the query figures run on: QueryTxs transactions over queryDays, in
// blocks of queryPerBlock (loadSQL's "i / 100"), signed by 200,000 accounts of queryMembers,
// loaded queryChunk rows per statement.
const (
	queryDays     = 120
	queryPerBlock = 100
	queryChunk    = 1_000_000
)

var (
	queryStart = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	// queryMembers sponsor the accounts: the two brokers hold most of them.
	queryMembers = []string{"HTSC", "HTSC", "HTSC", "HTSC", "HTSC", "GTJA", "GTJA", "GTJA", "GTJA", "GTJA",
		"SZFE", "PAFG", "CMCI", "BOCS", "UPGW", "CMWH"}
	// queryAssets are the coin and 49 stocks.
	queryAssets = func() []string {
		out := []string{"CNYS"}
		for i := 1; i < 50; i++ {
			out = append(out, fmt.Sprintf("6000%02d", i))
		}
		return out
	}()
)

// loadSQL writes rows [$3, $4] of the synthetic history, computed by the server: the mix of
// memchain's traffic (half coin transfers, a quarter stock transfers, DvP, a little mint and
// burn, one in fifty failing), each account always with the same sponsoring member.
const loadSQL = `INSERT INTO transactions (block_time, height, idx, hash, type, signer, member, nonce, asset, amount, counterparty, code, reason, memo)
SELECT $1::timestamptz + (i / 100) * $2::bigint * interval '1 microsecond',
       i / 100 + 1, (i % 100)::int, sha256(int8send(i)),
       CASE WHEN k < 75 THEN 'transfer' WHEN k < 98 THEN 'settle_dvp' WHEN k < 99 THEN 'mint' ELSE 'burn' END,
       decode(lpad(to_hex(a), 40, '0'), 'hex'),
       ($5::text[])[1 + a % 16],
       i / 1000 + 1,
       CASE WHEN k < 50 OR k >= 98 THEN 'CNYS' ELSE ($6::text[])[2 + (i / 7) % 49] END,
       1 + (i * 7) % 100000,
       decode(lpad(to_hex((a * 13 + 1) % 200000), 40, '0'), 'hex'),
       CASE WHEN i % 50 = 49 THEN 20 ELSE 0 END,
       CASE WHEN i % 50 = 49 THEN 'insufficient balance' ELSE '' END, ''
FROM generate_series($3::bigint, $4::bigint) AS i,
     LATERAL (SELECT (i * 7919 + i / 13) % 200000 AS a, (i * 2654435761) % 100 AS k) x`

// rollupSQL derives the daily rollups from the loaded transactions, as ledgersync would have
// kept them.
const rollupSQL = `INSERT INTO daily_rollups (day, member, asset, tx_type, tx_count, failed_count, value)
SELECT (block_time AT TIME ZONE 'Asia/Shanghai')::date, member, asset, type, count(*),
       count(*) FILTER (WHERE code <> 0), coalesce(sum(amount) FILTER (WHERE code = 0), 0)
FROM transactions GROUP BY 1, 2, 3, 4`

// queries loads QueryTxs synthetic transactions and their rollups straight into the tables,
// then times the portal's two hot queries through package store: a keyset page of 50 filtered
// by member and asset, and a member's daily volume over 30 days from the rollups.
func (s *scratch) queries(ctx context.Context, cfg SyncConfig, progress func(string, ...any)) ([]Row, error) {
	db, err := s.db(ctx, "query")
	if err != nil {
		return nil, err
	}
	n := int64(cfg.QueryTxs)
	span := time.Duration(queryDays) * 24 * time.Hour
	blocks := (n + queryPerBlock - 1) / queryPerBlock
	step := span / time.Duration(blocks)
	end := queryStart.Add(span)
	if _, err := db.Pool.Exec(ctx, "SELECT ensure_month_partitions($1, $2)", queryStart, end); err != nil {
		return nil, fmt.Errorf("partitions: %w", err)
	}
	start := time.Now()
	for lo := int64(0); lo < n; lo += queryChunk {
		hi := min(lo+queryChunk, n) - 1
		progress("query: loading synthetic transactions %d-%d of %d", lo, hi, n)
		if _, err := db.Pool.Exec(ctx, loadSQL, queryStart, step.Microseconds(), lo, hi, queryMembers, queryAssets); err != nil {
			return nil, fmt.Errorf("load transactions: %w", err)
		}
	}
	progress("query: daily rollups")
	if _, err := db.Pool.Exec(ctx, rollupSQL); err != nil {
		return nil, fmt.Errorf("load rollups: %w", err)
	}
	if _, err := db.Pool.Exec(ctx, "VACUUM ANALYZE transactions, daily_rollups"); err != nil {
		return nil, fmt.Errorf("analyze: %w", err)
	}
	loaded := time.Since(start)
	var rollups int64
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM daily_rollups").Scan(&rollups); err != nil {
		return nil, fmt.Errorf("count rollups: %w", err)
	}

	progress("query: %d runs of each query", cfg.QueryRuns)
	r := rand.New(rand.NewPCG(3, 11))
	members := []string{"HTSC", "GTJA", "SZFE", "PAFG", "CMCI", "BOCS", "UPGW", "CMWH"}
	keyset := func() (int, error) {
		f := store.TxFilter{Member: pick(r, members), Asset: pick(r, queryAssets), Limit: 50}
		if r.IntN(2) == 1 {
			// A later page: continue from a random point in the history.
			at := queryStart.Add(time.Duration(r.Int64N(int64(span))))
			f.After = &store.TxKey{BlockTime: at, Height: 1 << 62}
		}
		page, err := db.Transactions(ctx, f)
		return len(page), err
	}
	volume := func() (int, error) {
		from := store.MarketDay(queryStart.Add(time.Duration(r.Int64N(int64(span - 30*24*time.Hour)))))
		days, err := db.MemberDailyVolume(ctx, pick(r, members), "", from, from.AddDate(0, 0, 29))
		return len(days), err
	}
	kp, kRows, err := timeRuns(cfg.QueryRuns, keyset)
	if err != nil {
		return nil, fmt.Errorf("keyset page: %w", err)
	}
	vp, vRows, err := timeRuns(cfg.QueryRuns, volume)
	if err != nil {
		return nil, fmt.Errorf("daily volume: %w", err)
	}
	note := fmt.Sprintf("%d synthetic txs over %d days bulk-loaded with INSERT … SELECT generate_series (not synced) in %.0f s", n, queryDays, loaded.Seconds())
	return []Row{
		{Name: "keyset page of 50 by member and asset, p95", Value: ms(percentile(kp, 0.95)), Unit: "ms", Goal: 20, AtMost: true,
			Note: fmt.Sprintf("%s; %d runs, half first pages, half from a random point; p50 %.2f ms, %.1f rows a page",
				note, len(kp), ms(percentile(kp, 0.5)), float64(kRows)/float64(len(kp)))},
		{Name: "30-day daily volume of a member, p95", Value: ms(percentile(vp, 0.95)), Unit: "ms", Goal: 100, AtMost: true,
			Note: fmt.Sprintf("from %d daily rollup rows derived from those txs; %d runs; p50 %.2f ms, %.1f days an answer",
				rollups, len(vp), ms(percentile(vp, 0.5)), float64(vRows)/float64(len(vp)))},
	}, nil
}

// timeRuns runs fn a few times to warm the cache, then runs times timed runs and returns
// their latencies and the rows they returned.
func timeRuns(runs int, fn func() (int, error)) ([]time.Duration, int, error) {
	for range min(runs/10, 20) {
		if _, err := fn(); err != nil {
			return nil, 0, err
		}
	}
	out := make([]time.Duration, 0, runs)
	rows := 0
	for range runs {
		start := time.Now()
		n, err := fn()
		if err != nil {
			return nil, 0, err
		}
		out = append(out, time.Since(start))
		rows += n
	}
	return out, rows, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
