package compliance

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// StructParams are the parameters of STRUCT.
type StructParams struct {
	// RatioBP is k in basis points: a transfer is in the band of threshold T when it is in
	// [k·T, T).
	RatioBP int64 `json:"ratio_bp"`
	// MinCount is N, the number of in-band transfers in the window.
	MinCount int64 `json:"min_count"`
	// WindowSeconds is W.
	WindowSeconds int64 `json:"window_seconds"`
	// ThresholdIndividual and ThresholdInstitution are the large-value thresholds T whose
	// bands are watched, in fen.
	ThresholdIndividual  int64 `json:"threshold_individual"`
	ThresholdInstitution int64 `json:"threshold_institution"`
}

// Validate implements Params.
func (p *StructParams) Validate() error {
	switch {
	case p.RatioBP <= 0 || p.RatioBP >= 10_000:
		return errors.New("ratio_bp must be in (0, 10000)")
	case p.MinCount < 1 || p.MinCount > 1000:
		return errors.New("min_count must be in [1, 1000]")
	case p.WindowSeconds <= 0 || p.WindowSeconds > 92*86400:
		return errors.New("window_seconds must be in (0, 92 days]")
	case p.ThresholdIndividual <= 0 || p.ThresholdInstitution <= 0:
		return errors.New("thresholds must be positive")
	}
	return nil
}

func structRule() *Rule {
	return &Rule{
		ID: RuleStruct, Title: "Structuring below the large-value threshold", Severity: SeverityHigh, Subject: SubjectOwner,
		shares: sharesCoinMoves,
		Source: "PBOC Order [2016] No. 3, art. 11 and 13 (suspicious transactions: splitting to avoid reporting)",
		defaults: func() Params {
			return &StructParams{RatioBP: 9000, MinCount: 3, WindowSeconds: 5 * 86400,
				ThresholdIndividual: defaultLVIndividual, ThresholdInstitution: defaultLVInstitution}
		},
		eval: func(ctx context.Context, e *Env, p Params, r Range) ([]Finding, error) {
			return evalStruct(ctx, e, p.(*StructParams), r)
		},
	}
}

// inBand reports whether amount is in [k·T, T).
func inBand(amount, t, ratioBP int64) bool {
	return amount < t && amount*10_000 >= t*ratioBP
}

// evalStruct finds owners who, within the window, made at least N coin transfers each in
// the band below a threshold and together at or above it.
func evalStruct(ctx context.Context, e *Env, p *StructParams, r Range) ([]Finding, error) {
	thresholds := []int64{p.ThresholdIndividual}
	if p.ThresholdInstitution != p.ThresholdIndividual {
		thresholds = append(thresholds, p.ThresholdInstitution)
	}
	banded := func(m *coinMove) bool {
		if m.from == nil || m.to == nil {
			return false // mints and burns are not transfers from an owner
		}
		for _, t := range thresholds {
			if inBand(m.amount, t, p.RatioBP) {
				return true
			}
		}
		return false
	}
	inRange, err := e.coinMoves(ctx, r.From, r.To, r.FromTime, r.ToTime, nil)
	if err != nil {
		return nil, err
	}
	var payers [][]byte
	for i := range inRange {
		if banded(&inRange[i]) {
			payers = append(payers, inRange[i].from)
		}
	}
	if len(payers) == 0 {
		return nil, nil
	}
	if err := e.loadAccounts(ctx, payers); err != nil {
		return nil, err
	}
	owners := map[string]bool{}
	var ownerList [][]byte
	for _, a := range payers {
		o := e.acct(a).owner
		if !owners[string(o)] {
			owners[string(o)] = true
			ownerList = append(ownerList, o)
		}
	}
	accts, err := e.ownersAccounts(ctx, ownerList)
	if err != nil {
		return nil, err
	}
	start := r.FromTime.Add(-time.Duration(p.WindowSeconds) * time.Second)
	h1, err := e.heightAtOrAfter(ctx, start)
	if err != nil {
		return nil, err
	}
	moves, err := e.coinMoves(ctx, h1, r.To, start, r.ToTime, accts)
	if err != nil {
		return nil, err
	}
	if err := e.loadAccounts(ctx, touched(moves)); err != nil {
		return nil, err
	}
	type key struct {
		owner string
		t     int64
	}
	hits := map[key][]*coinMove{}
	var out []Finding
	for i := range moves {
		m := &moves[i]
		if !banded(m) || !owners[string(e.acct(m.from).owner)] {
			continue
		}
		owner := e.acct(m.from).owner
		for _, t := range thresholds {
			if !inBand(m.amount, t, p.RatioBP) {
				continue
			}
			k := key{string(owner), t}
			hits[k] = append(hits[k], m)
			if m.height < r.From {
				continue
			}
			var n, sum int64
			var win []*coinMove
			for _, h := range hits[k] {
				if h.time.After(m.time.Add(-time.Duration(p.WindowSeconds) * time.Second)) {
					n++
					sum += h.amount
					win = append(win, h)
				}
			}
			if n < p.MinCount || sum < t {
				continue
			}
			ev := make([]Evidence, 0, len(win))
			for _, h := range win {
				ev = append(ev, Evidence{Tx: hashHex(h.hash), Height: h.height, Time: h.time,
					Note: fmt.Sprintf("%s paid %d fen to %s", addrHex(h.from), h.amount, addrHex(h.to))})
			}
			out = append(out, Finding{
				SubjectKind: SubjectOwner, Subject: ownerHex(owner), Member: e.acct(m.from).sponsor, Asset: ledger.CoinSymbol,
				WindowKey: fmt.Sprintf("T%d:%s", t, hashHex(win[0].hash)),
				Height:    m.height, Time: m.time, LastHeight: m.height,
				Summary: fmt.Sprintf("owner made %d transfers each in [%d%%, 100%%) of %d fen within %s, together %d fen",
					n, p.RatioBP/100, t, time.Duration(p.WindowSeconds)*time.Second, sum),
				Figures:  map[string]any{"count": n, "sum": sum, "threshold": t, "ratio_bp": p.RatioBP, "window_seconds": p.WindowSeconds},
				Evidence: capEvidence(ev),
			})
		}
	}
	return out, nil
}
