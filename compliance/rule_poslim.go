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

func posLimRule() *Rule {
	return &Rule{
		ID: RulePosLim, Title: "Futures position limit exceeded", Severity: SeverityHigh, Subject: SubjectOwner,
		shares:   sharesHoldings,
		Source:   "Futures and Derivatives Law of the PRC (2022), art. 26; Measures for the Administration of Futures Exchanges, art. 84 (position limits)",
		defaults: func() Params { return &PosLimParams{Limits: map[string]string{}} },
		eval: func(ctx context.Context, e *Env, p Params, r Range) ([]Finding, error) {
			series, assets, err := e.ownerHoldings(ctx, r, r.From, nil)
			if err != nil {
				return nil, err
			}
			var out []Finding
			for _, k := range sortedHoldKeys(series) {
				a := assets[k.asset]
				if a.kind != "future" && a.kind != "option" {
					continue
				}
				limit := a.positionLimit
				if v, ok := p.(*PosLimParams).Limits[k.asset]; ok {
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
						fmt.Sprintf("owner's open position in %s is %d, above the limit of %d", k.asset, pt.after, limit),
						map[string]any{"limit": limit, "day": marketDay(pt.time)}))
				}
			}
			return out, nil
		},
	}
}
