package compliance

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// holdPoint is an owner's holding of an asset after a block that changed it.
type holdPoint struct {
	height     int64
	time       time.Time
	before     int64 // holding at the end of the previous block
	after      int64
	supply     int64 // supply after the block
	prevSupply int64
}

// holdKey is an owner and an asset.
type holdKey struct {
	owner string
	asset string
}

// securityAsset is what the holding rules need of an asset.
type securityAsset struct {
	symbol, kind  string
	positionLimit int64
	decimals      uint8
}

// maxHoldRows bounds the balance rows one holdings evaluation reads.
const maxHoldRows = 2_000_000

// ownerHoldings returns, for each owner and security whose holdings changed in the range
// (or, with keys set, for those pairs only), the owner's holding (summed over all its accounts)
// after each block that changed it, from height since on. Holdings are read at block ends.
// Without keys, the result is kept for the range: HOLD-5, HOLD-1 and POS-LIM all start from
// it, and must not change it.
func (e *Env) ownerHoldings(ctx context.Context, r Range, since int64, keys map[holdKey]bool) (map[holdKey][]holdPoint, map[string]securityAsset, error) {
	if keys != nil {
		return e.loadOwnerHoldings(ctx, r, since, keys)
	}
	k := holdRange{moveRange{r.From, r.To, r.FromTime.UnixNano(), r.ToTime.UnixNano()}, since}
	if h, ok := e.holdings[k]; ok {
		return h.series, h.assets, nil
	}
	series, assets, err := e.loadOwnerHoldings(ctx, r, since, nil)
	if err != nil {
		return nil, nil, err
	}
	e.holdings[k] = ownerSeries{series, assets}
	return series, assets, nil
}

// holdRange is the range and start of an ownerHoldings load.
type holdRange struct {
	moveRange
	since int64
}

// ownerSeries is an ownerHoldings result.
type ownerSeries struct {
	series map[holdKey][]holdPoint
	assets map[string]securityAsset
}

// loadOwnerHoldings is ownerHoldings without the cache.
func (e *Env) loadOwnerHoldings(ctx context.Context, r Range, since int64, keys map[holdKey]bool) (map[holdKey][]holdPoint, map[string]securityAsset, error) {
	assets, err := e.securities(ctx)
	if err != nil {
		return nil, nil, err
	}
	if keys == nil {
		if keys, err = e.changedHoldings(ctx, r, assets); err != nil {
			return nil, nil, err
		}
	}
	if len(keys) == 0 {
		return nil, assets, nil
	}
	owners, symbols := ownersAndSymbols(keys)
	accts, err := e.ownersAccounts(ctx, owners)
	if err != nil {
		return nil, nil, err
	}
	f := newHoldingFold(e, keys, symbols)
	rows, opening, err := f.read(ctx, accts, r, since)
	if err != nil {
		return nil, nil, err
	}
	changes, err := byHeight(rows[opening:], since, r.To)
	if err != nil {
		return nil, nil, err
	}
	times, err := e.blockTimes(ctx, since, r.To)
	if err != nil {
		return nil, nil, err
	}
	supplies, err := e.supplies(ctx, symbols, since, r.To)
	if err != nil {
		return nil, nil, err
	}
	return f.series(rows[:opening], changes, since, times, supplies), assets, nil
}

// securities returns the assets of class security, by symbol.
func (e *Env) securities(ctx context.Context) (map[string]securityAsset, error) {
	assets := map[string]securityAsset{}
	err := e.scan(ctx, "securities", func(rows pgx.Rows) error {
		var a securityAsset
		var dec int16
		if err := rows.Scan(&a.symbol, &a.kind, &a.positionLimit, &dec); err != nil {
			return err
		}
		a.decimals = uint8(dec)
		assets[a.symbol] = a
		return nil
	}, `SELECT symbol, security_kind, position_limit, decimals FROM assets WHERE class = 'security'`)
	if err != nil {
		return nil, err
	}
	return assets, nil
}

// changedHoldings returns the owner and security of each holding of securities the range
// changed.
func (e *Env) changedHoldings(ctx context.Context, r Range, assets map[string]securityAsset) (map[holdKey]bool, error) {
	// Holdings of securities change only through legs, mints and burns (a lock moves
	// nothing), and both tables are read by block time, their leading key. Each holding
	// once: a busy range moves the same ones many times.
	var addrs [][]byte
	var symbols []string // of addrs' holdings
	err := e.scan(ctx, "changed holdings", func(rows pgx.Rows) error {
		var a []byte
		var asset string
		if err := rows.Scan(&a, &asset); err != nil {
			return err
		}
		if _, ok := assets[asset]; ok {
			addrs = append(addrs, a)
			symbols = append(symbols, asset)
		}
		return nil
	}, `SELECT DISTINCT addr, asset FROM (
			SELECT from_addr addr, asset FROM transfer_legs
				WHERE block_time BETWEEN $1 AND $2 AND height BETWEEN $3 AND $4 AND asset <> $5
			UNION ALL SELECT to_addr, asset FROM transfer_legs
				WHERE block_time BETWEEN $1 AND $2 AND height BETWEEN $3 AND $4 AND asset <> $5
			UNION ALL SELECT CASE WHEN type = 'burn' THEN signer ELSE counterparty END, asset FROM transactions
				WHERE type IN ('mint', 'burn') AND code = 0 AND block_time BETWEEN $1 AND $2 AND height BETWEEN $3 AND $4 AND asset <> $5
		) moved WHERE addr IS NOT NULL`,
		r.FromTime, r.ToTime, r.From, r.To, ledger.CoinSymbol)
	if err != nil {
		return nil, err
	}
	if err := e.loadAccounts(ctx, addrs); err != nil {
		return nil, err
	}
	keys := map[holdKey]bool{}
	for i, a := range addrs {
		keys[holdKey{string(e.acct(a).owner), symbols[i]}] = true
	}
	return keys, nil
}

// ownersAndSymbols returns the distinct owners and assets of keys.
func ownersAndSymbols(keys map[holdKey]bool) ([][]byte, []string) {
	var owners [][]byte
	var symbols []string
	seenO, seenA := map[string]bool{}, map[string]bool{}
	for k := range keys {
		if !seenO[k.owner] {
			seenO[k.owner] = true
			owners = append(owners, []byte(k.owner))
		}
		if !seenA[k.asset] {
			seenA[k.asset] = true
			symbols = append(symbols, k.asset)
		}
	}
	return owners, symbols
}

// holdingFold folds the balance rows of the owners' accounts into the owners' holdings:
// each account's holding before since, then every change up to the range's end. A busy
// range has a row for most holdings at most blocks: each is folded through the pointers of
// its holding and owner, found once per row by the raw bytes of the account, with no map of
// the fold touched and nothing allocated per row.
type holdingFold struct {
	e       *Env
	keys    map[holdKey]bool
	symbols []string
	totals  map[holdKey]*ownerTotal
	// perAsset holds, for each of symbols, its holdings by account.
	perAsset []map[string]*acctHolding
}

// ownerTotal is an owner's holding of an asset as the fold goes.
type ownerTotal struct {
	key    holdKey
	want   bool
	total  int64
	before int64 // total at the end of the previous block that changed it
	mark   int64 // the block whose change before is from
}

// acctHolding is an account's holding of an asset as the fold goes.
type acctHolding struct {
	cur   int64
	owner *ownerTotal
}

// holdRow is a balance row: a holding's amount after the block at height.
type holdRow struct {
	h      *acctHolding
	height int64
	amount int64
}

func newHoldingFold(e *Env, keys map[holdKey]bool, symbols []string) *holdingFold {
	f := &holdingFold{e: e, keys: keys, symbols: symbols, totals: map[holdKey]*ownerTotal{},
		perAsset: make([]map[string]*acctHolding, len(symbols))}
	for i := range f.perAsset {
		f.perAsset[i] = map[string]*acctHolding{}
	}
	return f
}

// scanRow reads a row of columns account, asset, height, amount.
func (f *holdingFold) scanRow(rows pgx.Rows) (holdRow, error) {
	var x holdRow
	if err := rows.Scan(nil, nil, &x.height, &x.amount); err != nil {
		return x, err
	}
	raw := rows.RawValues()
	ai := slices.IndexFunc(f.symbols, func(sym string) bool { return sym == string(raw[1]) })
	if ai < 0 {
		return x, fmt.Errorf("asset %q was not asked for", raw[1])
	}
	x.h = f.perAsset[ai][string(raw[0])]
	if x.h == nil {
		a := bytes.Clone(raw[0])
		k := holdKey{string(f.e.acct(a).owner), f.symbols[ai]}
		o := f.totals[k]
		if o == nil {
			o = &ownerTotal{key: k, want: f.keys[k], mark: -1}
			f.totals[k] = o
		}
		x.h = &acctHolding{owner: o}
		f.perAsset[ai][string(a)] = x.h
	}
	return x, nil
}

// read returns the rows of accts: the holdings before since first, rows[:opening], then
// the changes from since up to the range's end.
func (f *holdingFold) read(ctx context.Context, accts [][]byte, r Range, since int64) ([]holdRow, int, error) {
	var hist, straddle []holdRow
	if since > 1 {
		err := f.e.balancesBefore(ctx, accts, f.symbols, since, r.To, func(rows pgx.Rows) error {
			x, err := f.scanRow(rows)
			if x.height >= since {
				straddle = append(straddle, x)
			} else {
				hist = append(hist, x)
			}
			return err
		})
		if err != nil {
			return nil, 0, err
		}
	}
	opening := len(hist)
	hist = append(hist, straddle...)
	err := f.e.scan(ctx, "holding changes", func(rows pgx.Rows) error {
		x, err := f.scanRow(rows)
		hist = append(hist, x)
		if len(hist) > maxHoldRows {
			return fmt.Errorf("more than %d rows: evaluate fewer blocks: %w", maxHoldRows, ErrInvalid)
		}
		return err
	}, `SELECT bc.account, bc.asset, u.height, u.amount FROM balance_chunks bc
		CROSS JOIN LATERAL unnest(bc.heights, bc.amounts) u(height, amount)
		WHERE bc.account = ANY($1) AND bc.asset = ANY($2) AND bc.height BETWEEN $3 AND $4 AND bc.block_time <= $5
		  AND u.height <= $4`,
		accts, f.symbols, since, r.To, r.ToTime)
	if err != nil {
		return nil, 0, err
	}
	return hist, opening, nil
}

// byHeight buckets the changes by height, for the fold to take a height at a time: the
// changes of the chunks that started before since with the others. A sort of the 1.9M
// changes of a 1M-tx range, and the join with blocks for their times, made HOLD-1 15%
// slower.
func byHeight(rows []holdRow, since, to int64) ([]holdRow, error) {
	n := to - since + 1
	at := make([]int, n+1)
	for _, x := range rows {
		if x.height < since || x.height > to {
			return nil, fmt.Errorf("holding change at %d outside %d-%d", x.height, since, to)
		}
		at[x.height-since+1]++
	}
	for i := range n {
		at[i+1] += at[i]
	}
	changes := make([]holdRow, len(rows))
	for _, x := range rows {
		changes[at[x.height-since]] = x
		at[x.height-since]++
	}
	return changes, nil
}

// series folds the holdings before since, then the changes a block at a time, into each
// wanted owner's holding of each asset after every block that changed it.
func (f *holdingFold) series(opening, changes []holdRow, since int64, times []time.Time, supplies supplySeries) map[holdKey][]holdPoint {
	for _, x := range opening {
		x.h.cur = x.amount
		x.h.owner.total += x.amount
	}
	out := map[holdKey][]holdPoint{}
	var touched []*ownerTotal
	for i := 0; i < len(changes); {
		h := changes[i].height
		touched = touched[:0]
		j := i
		for ; j < len(changes) && changes[j].height == h; j++ {
			x := &changes[j]
			o := x.h.owner
			if !o.want {
				continue
			}
			if o.mark != h {
				o.mark, o.before = h, o.total
				touched = append(touched, o)
			}
			o.total += x.amount - x.h.cur
			x.h.cur = x.amount
		}
		for _, o := range touched {
			out[o.key] = append(out[o.key], holdPoint{height: h, time: times[h-since], before: o.before, after: o.total,
				supply: supplies.at(o.key.asset, h), prevSupply: supplies.at(o.key.asset, h-1)})
		}
		i = j
	}
	return out
}

// balancesBefore calls each with the last balance change before height since (columns
// account, asset, height, amount) of every holding of accounts in assets that
// has one, and with the changes up to to that follow it in the same chunk, which a scan of
// the chunks that start at or after since does not find. One probe per holding along the
// key (account, asset, height): a scan of the holders' history before since, sorted to keep
// the last row of each, took six times as long for 10k accounts and 200 blocks.
func (e *Env) balancesBefore(ctx context.Context, accounts [][]byte, assets []string, since, to int64, each func(pgx.Rows) error) error {
	return e.scan(ctx, fmt.Sprintf("balances before %d", since), each, `SELECT a.account, s.asset, u.height, u.amount
		FROM unnest($1::bytea[]) a(account) CROSS JOIN unnest($2::text[]) s(asset)
		CROSS JOIN LATERAL (SELECT heights, amounts, width_bucket($3 - 1, heights) AS k FROM balance_chunks bc
			WHERE bc.account = a.account AND bc.asset = s.asset AND bc.height < $3 ORDER BY bc.height DESC LIMIT 1) c
		CROSS JOIN LATERAL unnest(c.heights[c.k:], c.amounts[c.k:]) u(height, amount)
		WHERE u.height <= $4`,
		accounts, assets, since, to)
}

// supplySeries is each asset's supply after each block that changed it, ascending.
type supplySeries map[string][]struct {
	height int64
	supply int64
}

// at returns the asset's supply at the end of block h.
func (s supplySeries) at(asset string, h int64) int64 {
	pts := s[asset]
	i := sort.Search(len(pts), func(i int) bool { return pts[i].height > h })
	if i == 0 {
		return 0
	}
	return pts[i-1].supply
}

// supplies loads the supply of assets at since-1 and after each change up to to.
func (e *Env) supplies(ctx context.Context, symbols []string, since, to int64) (supplySeries, error) {
	out := supplySeries{}
	rows, err := e.q.Query(ctx, `SELECT asset, height, supply FROM (
			SELECT DISTINCT ON (asset) asset, height, supply FROM supply_history WHERE asset = ANY($1) AND height < $2 ORDER BY asset, height DESC) b
		UNION ALL SELECT asset, height, supply FROM supply_history WHERE asset = ANY($1) AND height BETWEEN $2 AND $3
		ORDER BY 1, 2`, symbols, since, to)
	if err != nil {
		return nil, fmt.Errorf("supplies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		var p struct {
			height int64
			supply int64
		}
		if err := rows.Scan(&a, &p.height, &p.supply); err != nil {
			return nil, fmt.Errorf("supplies: %w", err)
		}
		out[a] = append(out[a], p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("supplies: %w", err)
	}
	return out, nil
}

// stepOf is floor(holding / (supply · stepBP / 10000)), exactly; 0 when supply is 0.
func stepOf(holding, supply, stepBP int64) int64 {
	if supply <= 0 || holding <= 0 {
		return 0
	}
	n := new(big.Int).Mul(big.NewInt(holding), big.NewInt(10_000))
	d := new(big.Int).Mul(big.NewInt(supply), big.NewInt(stepBP))
	return n.Quo(n, d).Int64()
}

// shareBP is holding/supply in basis points, rounded down.
func shareBP(holding, supply int64) int64 { return stepOf(holding, supply, 1) }

// holdFinding is a holding rule's finding at the block end pt; holdEvidence adds its
// evidence and members.
func holdFinding(k holdKey, pt holdPoint, window, summary string, extra map[string]any) Finding {
	fig := map[string]any{"asset": k.asset, "holding": pt.after, "holding_before": pt.before, "supply": pt.supply,
		"share_bp": shareBP(pt.after, pt.supply)}
	for n, v := range extra {
		fig[n] = v
	}
	return Finding{
		SubjectKind: SubjectOwner, Subject: ownerHex([]byte(k.owner)), Asset: k.asset, WindowKey: window,
		Height: pt.height, Time: pt.time, LastHeight: pt.height, Summary: summary, Figures: fig,
	}
}

func sortedHoldKeys(m map[holdKey][]holdPoint) []holdKey {
	out := make([]holdKey, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].asset != out[j].asset {
			return out[i].asset < out[j].asset
		}
		return out[i].owner < out[j].owner
	})
	return out
}
