package compliance

import (
	"context"
	"errors"
	"fmt"
)

// HoldParams are the parameters of HOLD-5.
type HoldParams struct {
	// StepBP is the step in basis points of supply: crossing any multiple of it, up or down,
	// is reported.
	StepBP int64 `json:"step_bp"`
}

// Validate implements Params.
func (p *HoldParams) Validate() error {
	if p.StepBP <= 0 || p.StepBP > 10_000 {
		return errors.New("step_bp must be in (0, 10000]")
	}
	return nil
}

// evalHold5 reports each block end where an owner's holding of a security crossed a multiple
// of step_bp of its supply, up or down.
func evalHold5(ctx context.Context, e *Env, p *HoldParams, r Range) ([]Finding, error) {
	step := p.StepBP
	series, _, err := e.ownerHoldings(ctx, r, r.From, nil)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, k := range sortedHoldKeys(series) {
		for _, pt := range series[k] {
			prev, now := stepOf(pt.before, pt.prevSupply, step), stepOf(pt.after, pt.supply, step)
			if prev == now || max(prev, now) < 1 {
				continue
			}
			out = append(out, holdFinding(k, pt, fmt.Sprintf("%s:%d", k.asset, pt.height),
				fmt.Sprintf("owner's holding of %s went from %d to %d steps of %d bp of supply (%d bp now)", k.asset, prev, now, step, shareBP(pt.after, pt.supply)),
				map[string]any{"step_bp": step, "steps_before": prev, "steps_after": now}))
		}
	}
	return out, nil
}
