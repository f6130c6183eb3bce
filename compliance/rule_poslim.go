package compliance

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"
)

// PosLimParams are the parameters of POS-LIM.
type PosLimParams struct {
	// Limits overrides a contract's on-chain position limit, by symbol (lots, as text).
	Limits map[string]string `json:"limits"`
}

// Validate implements Params.
func (p *PosLimParams) Validate() error {
	for s, v := range p.Limits {
		var n int64
		if _, err := fmt.Sscan(v, &n); err != nil || n <= 0 {
			return fmt.Errorf("limit of %s: %q is not a positive integer", s, v)
		}
	}
	return nil
}

// evalPosLim reports each block end where an owner's position in a future or option is above
// its limit: the parameter's, or else the contract's own. A position held above the limit
// into a new day is above it at the end of the day's first block, changed there or not.
func evalPosLim(ctx context.Context, e *Env, p *PosLimParams, r Range) ([]Finding, error) {
	series, assets, err := e.ownerHoldings(ctx, r, r.From, nil)
	if err != nil {
		return nil, err
	}
	limits := map[string]int64{}
	for _, a := range assets {
		limit := a.positionLimit
		if v, ok := p.Limits[a.symbol]; ok {
			_, _ = fmt.Sscan(v, &limit)
		}
		if (a.kind == "future" || a.kind == "option") && limit > 0 {
			limits[a.symbol] = limit
		}
	}
	if series, err = e.posLimCarried(ctx, r, limits, series); err != nil {
		return nil, err
	}
	var out []Finding
	var trips []holdTrip
	for _, k := range sortedHoldKeys(series) {
		limit, ok := limits[k.asset]
		if !ok {
			continue
		}
		a := assets[k.asset]
		for _, pt := range series[k] {
			if pt.after <= limit {
				continue
			}
			out = append(out, holdFinding(k, pt, fmt.Sprintf("%s:%s", k.asset, marketDay(pt.time)),
				fmt.Sprintf("owner's open position in %s is %s lots, above the limit of %s lots", k.asset, holdUnits(pt.after, a.decimals), holdUnits(limit, a.decimals)),
				map[string]any{"limit": limit, "day": marketDay(pt.time)}))
			trips = append(trips, holdTrip{k, pt})
		}
	}
	return e.holdEvidence(ctx, out, trips, assets)
}

// posLimCarried returns series with, for each Shanghai day that begins in the range, the
// positions held above their limit from the end of the day's previous block that the day's
// first block did not change. series is shared with the other holding rules: it is copied,
// not changed.
func (e *Env) posLimCarried(ctx context.Context, r Range, limits map[string]int64, series map[holdKey][]holdPoint) (map[holdKey][]holdPoint, error) {
	from := max(r.From, 2) // genesis holds no contract
	if len(limits) == 0 || from > r.To {
		return series, nil
	}
	times, err := e.blockTimes(ctx, from-1, r.To)
	if err != nil {
		return nil, err
	}
	var starts []int64
	for d := from; d <= r.To; d++ {
		if marketDay(times[d-from+1]) != marketDay(times[d-from]) {
			starts = append(starts, d)
		}
	}
	if len(starts) == 0 {
		return series, nil
	}
	symbols := sortedStrings(limits)
	var holders [][]byte
	err = e.scan(ctx, "position holders", func(rows pgx.Rows) error {
		var a []byte
		err := rows.Scan(&a)
		holders = append(holders, a)
		return err
	}, `SELECT DISTINCT account FROM balances WHERE asset = ANY($1)`, symbols) // a row for every holding ever changed
	if err != nil || len(holders) == 0 {
		return series, err
	}
	if err := e.loadAccounts(ctx, holders); err != nil {
		return nil, err
	}
	supplies, err := e.supplies(ctx, symbols, from, r.To)
	if err != nil {
		return nil, err
	}
	out := map[holdKey][]holdPoint{}
	maps.Copy(out, series)
	for _, d := range starts {
		held := map[holdKey]int64{}
		err := e.balancesBefore(ctx, holders, symbols, d, d-1, func(rows pgx.Rows) error {
			var a []byte
			var asset string
			var h, amount int64
			if err := rows.Scan(&a, &asset, &h, &amount); err != nil {
				return err
			}
			held[holdKey{string(e.acct(a).owner), asset}] += amount
			return nil
		})
		if err != nil {
			return nil, err
		}
		for k, v := range held {
			pts := out[k]
			if v <= limits[k.asset] || slices.ContainsFunc(pts, func(pt holdPoint) bool { return pt.height == d }) {
				continue
			}
			pt := holdPoint{height: d, time: times[d-from+1], before: v, after: v, supply: supplies.at(k.asset, d), prevSupply: supplies.at(k.asset, d-1)}
			i, _ := slices.BinarySearchFunc(pts, d, func(pt holdPoint, h int64) int { return cmp.Compare(pt.height, h) })
			out[k] = slices.Insert(slices.Clone(pts), i, pt)
		}
	}
	return out, nil
}
