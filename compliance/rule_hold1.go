package compliance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Hold1Params are the parameters of HOLD-1.
type Hold1Params struct {
	// ThresholdBP is the holding, in basis points of supply, from which changes are tracked.
	ThresholdBP int64 `json:"threshold_bp"`
	// ChangeBP is the change, in basis points of supply, since the last report (or since the
	// threshold was first reached) that is reported.
	ChangeBP int64 `json:"change_bp"`
}

// Validate implements Params.
func (p *Hold1Params) Validate() error {
	if p.ThresholdBP <= 0 || p.ThresholdBP > 10_000 || p.ChangeBP <= 0 || p.ChangeBP > 10_000 {
		return errors.New("threshold_bp and change_bp must be in (0, 10000]")
	}
	return nil
}

// hold1State is HOLD-1's window state for an owner and a security: whether the holding has
// reached the threshold, and the base the next change is measured from.
type hold1State struct {
	Have bool  `json:"have"`
	Base int64 `json:"base"`
}

// hold1Family is HOLD-1's state family under p: the base depends on both parameters.
func hold1Family(p *Hold1Params) string {
	return fmt.Sprintf("%s/%d/%d", RuleHold1, p.ThresholdBP, p.ChangeBP)
}

// holdStateKey is an owner and security's key in a state family.
func holdStateKey(k holdKey) string { return ownerHex([]byte(k.owner)) + "|" + k.asset }

// evalHold1 tracks, for each owner and security, a base: the holding when the owner first
// reached the threshold, reset at each report; a change of ChangeBP of supply from the base
// is reported. The base depends on the whole history: an owner at or above the threshold in
// the range continues from its state, or without one is replayed from its first holding.
func evalHold1(ctx context.Context, e *Env, p *Hold1Params, r Range) ([]Finding, error) {
	family := hold1Family(p)
	if err := e.keepState(ctx, family, "", r); err != nil {
		return nil, err
	}
	recent, assets, err := e.ownerHoldings(ctx, r, r.From, nil)
	if err != nil {
		return nil, err
	}
	keys := map[holdKey]bool{}
	for k, pts := range recent {
		for _, pt := range pts {
			if stepOf(pt.after, pt.supply, p.ThresholdBP) >= 1 {
				keys[k] = true
			}
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	start, series, err := e.hold1Series(ctx, family, r, recent, keys)
	if err != nil {
		return nil, err
	}
	var out []Finding
	var trips []holdTrip
	for _, k := range sortedHoldKeys(series) {
		a := assets[k.asset]
		a.symbol = k.asset
		st := start[k]
		for _, pt := range series[k] {
			if stepOf(pt.after, pt.supply, p.ThresholdBP) < 1 {
				continue
			}
			if !st.Have {
				st.Base, st.Have = pt.after, true
				continue
			}
			d := pt.after - st.Base
			if d < 0 {
				d = -d
			}
			if stepOf(d, pt.supply, p.ChangeBP) < 1 {
				continue
			}
			if pt.height >= r.From {
				out = append(out, holdFinding(k, pt, fmt.Sprintf("%s:%d", k.asset, pt.height), hold1Summary(a, pt, st.Base, p.ThresholdBP),
					map[string]any{"base": st.Base, "change_bp": p.ChangeBP, "threshold_bp": p.ThresholdBP}))
				trips = append(trips, holdTrip{k, pt})
			}
			st.Base = pt.after
		}
		if err := e.putState(family, holdStateKey(k), r, st); err != nil {
			return nil, err
		}
	}
	return e.holdEvidence(ctx, out, trips, assets)
}

// hold1Summary says how far the holding moved from its base, in units and in share of the
// supply: "owner's holding of 600903, above 5% of supply, rose by 10,000 (1.00% of supply)
// from its base of 50,000 to 60,000 of 1,000,000 (6.00%)".
func hold1Summary(a securityAsset, pt holdPoint, base, thresholdBP int64) string {
	dir, d := "rose", pt.after-base
	if d < 0 {
		dir, d = "fell", -d
	}
	return fmt.Sprintf("owner's holding of %s, above %s of supply, %s by %s (%s of supply) from its base of %s to %s of %s (%s)",
		a.symbol, stepPercent(thresholdBP), dir, holdUnits(d, a.decimals), bpPercent(shareBP(d, pt.supply)),
		holdUnits(base, a.decimals), holdUnits(pt.after, a.decimals), holdUnits(pt.supply, a.decimals), bpPercent(shareBP(pt.after, pt.supply)))
}

// hold1Series returns, for each of keys, the state it starts from and the holdings to walk:
// those of the range when the family's state has a row for it (or the range starts the
// history), and otherwise its whole history, replayed from the first block.
func (e *Env) hold1Series(ctx context.Context, family string, r Range, recent map[holdKey][]holdPoint, keys map[holdKey]bool) (map[holdKey]hold1State, map[holdKey][]holdPoint, error) {
	stateKeys := make([]string, 0, len(keys))
	for k := range keys {
		stateKeys = append(stateKeys, holdStateKey(k))
	}
	states, err := e.priorStates(ctx, family, stateKeys, r)
	if err != nil {
		return nil, nil, err
	}
	start := map[holdKey]hold1State{}
	series := map[holdKey][]holdPoint{}
	replay := map[holdKey]bool{}
	for k := range keys {
		raw, ok := states[holdStateKey(k)]
		switch {
		case ok:
			var st hold1State
			if err := json.Unmarshal(raw, &st); err != nil {
				return nil, nil, fmt.Errorf("rule state %s %s: %w", family, holdStateKey(k), err)
			}
			start[k] = st
			series[k] = recent[k]
		case r.From > 1:
			replay[k] = true
		default:
			series[k] = recent[k] // from the first block, the range is the whole history
		}
	}
	if len(replay) > 0 {
		full, _, err := e.ownerHoldings(ctx, r, 1, replay)
		if err != nil {
			return nil, nil, err
		}
		for k, pts := range full {
			series[k] = pts
		}
	}
	return start, series, nil
}
