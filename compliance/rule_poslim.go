package compliance

import (
	"context"
	"fmt"
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
// its limit: the parameter's, or else the contract's own.
func evalPosLim(ctx context.Context, e *Env, p *PosLimParams, r Range) ([]Finding, error) {
	series, assets, err := e.ownerHoldings(ctx, r, r.From, nil)
	if err != nil {
		return nil, err
	}
	var out []Finding
	var trips []holdTrip
	for _, k := range sortedHoldKeys(series) {
		a := assets[k.asset]
		a.symbol = k.asset
		if a.kind != "future" && a.kind != "option" {
			continue
		}
		limit := a.positionLimit
		if v, ok := p.Limits[k.asset]; ok {
			_, _ = fmt.Sscan(v, &limit)
		}
		if limit <= 0 {
			continue
		}
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
