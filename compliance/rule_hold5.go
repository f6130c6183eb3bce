package compliance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	series, assets, err := e.ownerHoldings(ctx, r, r.From, nil)
	if err != nil {
		return nil, err
	}
	var out []Finding
	var trips []holdTrip
	for _, k := range sortedHoldKeys(series) {
		a := assets[k.asset]
		a.symbol = k.asset
		for _, pt := range series[k] {
			prev, now := stepOf(pt.before, pt.prevSupply, step), stepOf(pt.after, pt.supply, step)
			if prev == now || max(prev, now) < 1 {
				continue
			}
			out = append(out, holdFinding(k, pt, fmt.Sprintf("%s:%d", k.asset, pt.height), hold5Summary(a, pt, step, prev, now),
				map[string]any{"step_bp": step, "steps_before": prev, "steps_after": now}))
			trips = append(trips, holdTrip{k, pt})
		}
	}
	return e.holdEvidence(ctx, out, trips, assets)
}

// maxCrossingsNamed is how many multiples of the step a summary names one by one.
const maxCrossingsNamed = 3

// hold5Summary says which multiples of step the holding crossed, and its share and amount
// before and after: "owner's holding of 600950 crossed 5% of supply upward: 4.99% to 5.20%
// (52,000 of 1,000,000)".
func hold5Summary(a securityAsset, pt holdPoint, step, prev, now int64) string {
	dir, lo, hi := "upward", prev+1, now
	if now < prev {
		dir, lo, hi = "downward", now+1, prev
	}
	var crossed string
	if n := hi - lo + 1; n > maxCrossingsNamed {
		from, to := lo, hi
		if dir == "downward" {
			from, to = hi, lo
		}
		crossed = fmt.Sprintf("%d multiples of %s, %s to %s,", n, stepPercent(step), stepPercent(from*step), stepPercent(to*step))
	} else {
		var names []string
		for s := lo; s <= hi; s++ {
			names = append(names, stepPercent(s*step))
		}
		if dir == "downward" {
			slices.Reverse(names)
		}
		crossed = names[0]
		if len(names) > 1 {
			crossed = strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
		}
	}
	return fmt.Sprintf("owner's holding of %s crossed %s of supply %s: %s to %s (%s of %s)", a.symbol, crossed, dir,
		bpPercent(shareBP(pt.before, pt.prevSupply)), bpPercent(shareBP(pt.after, pt.supply)),
		holdUnits(pt.after, a.decimals), holdUnits(pt.supply, a.decimals))
}
