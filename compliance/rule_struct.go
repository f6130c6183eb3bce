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

// inBand reports whether amount is in [k·T, T).
func inBand(amount, t, ratioBP int64) bool {
	return amount < t && amount*10_000 >= t*ratioBP
}

// evalStruct finds owners who, within the window, made at least N coin transfers each in
// the band below a threshold and together at or above it.
func evalStruct(ctx context.Context, e *Env, p *StructParams, r Range) ([]Finding, error) {
	b := newStructBands(p)
	owners, moves, err := e.structMoves(ctx, p, r, b)
	if err != nil || len(owners) == 0 {
		return nil, err
	}
	return structFindings(e, p, r, b, owners, moves), nil
}

// structBands are the bands STRUCT watches: [k·T, T) for each threshold T.
type structBands struct {
	thresholds []int64
	ratioBP    int64
}

func newStructBands(p *StructParams) structBands {
	thresholds := []int64{p.ThresholdIndividual}
	if p.ThresholdInstitution != p.ThresholdIndividual {
		thresholds = append(thresholds, p.ThresholdInstitution)
	}
	return structBands{thresholds, p.RatioBP}
}

// banded reports whether m is a transfer in one of the bands.
func (b structBands) banded(m *coinMove) bool {
	if m.from == nil || m.to == nil {
		return false // mints and burns are not transfers from an owner
	}
	for _, t := range b.thresholds {
		if inBand(m.amount, t, b.ratioBP) {
			return true
		}
	}
	return false
}

// structMoves returns the owners who made a banded transfer in the range, and the coin
// movements of all their accounts from the window before the range to its end; no owners
// when there is none.
func (e *Env) structMoves(ctx context.Context, p *StructParams, r Range, b structBands) (map[string]bool, []coinMove, error) {
	inRange, err := e.coinMoves(ctx, r.From, r.To, r.FromTime, r.ToTime, nil)
	if err != nil {
		return nil, nil, err
	}
	var payers [][]byte
	for i := range inRange {
		if b.banded(&inRange[i]) {
			payers = append(payers, inRange[i].from)
		}
	}
	if len(payers) == 0 {
		return nil, nil, nil
	}
	if err := e.loadAccounts(ctx, payers); err != nil {
		return nil, nil, err
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
		return nil, nil, err
	}
	start := r.FromTime.Add(-time.Duration(p.WindowSeconds) * time.Second)
	h1, err := e.heightAtOrAfter(ctx, start)
	if err != nil {
		return nil, nil, err
	}
	moves, err := e.coinMoves(ctx, h1, r.To, start, r.ToTime, accts)
	if err != nil {
		return nil, nil, err
	}
	if err := e.loadAccounts(ctx, touched(moves)); err != nil {
		return nil, nil, err
	}
	return owners, moves, nil
}

// structFindings walks the owners' banded transfers in order and, at each one in the range,
// counts those of its band within the window before it.
func structFindings(e *Env, p *StructParams, r Range, b structBands, owners map[string]bool, moves []coinMove) []Finding {
	w := time.Duration(p.WindowSeconds) * time.Second
	type key struct {
		owner string
		t     int64
	}
	hits := map[key][]*coinMove{}
	var out []Finding
	for i := range moves {
		m := &moves[i]
		if !b.banded(m) || !owners[string(e.acct(m.from).owner)] {
			continue
		}
		owner := e.acct(m.from).owner
		for _, t := range b.thresholds {
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
				if h.time.After(m.time.Add(-w)) {
					n++
					sum += h.amount
					win = append(win, h)
				}
			}
			if n < p.MinCount || sum < t {
				continue
			}
			out = append(out, structFinding(e, p, owner, t, m, win, sum))
		}
	}
	return out
}

// structFinding reports the transfers win of owner in the band of t, which together reach
// sum at m.
func structFinding(e *Env, p *StructParams, owner []byte, t int64, m *coinMove, win []*coinMove, sum int64) Finding {
	n := int64(len(win))
	ev := make([]Evidence, 0, len(win))
	var members []string
	for _, h := range win {
		members = append(members, e.acct(h.from).sponsor)
		ev = append(ev, Evidence{Tx: hashHex(h.hash), Height: h.height, Time: h.time,
			Note:     fmt.Sprintf("%s paid %s to %s in %s", addrHex(h.from), coin(h.amount), addrHex(h.to), coinMoveText(h.kind)),
			Accounts: []EvidenceAccount{e.mover(h.from, "from", ledger.CoinSymbol, h.amount), e.party(h.to, "to")}})
	}
	return Finding{
		SubjectKind: SubjectOwner, Subject: ownerHex(owner), Member: e.acct(win[0].from).sponsor, Members: members, Asset: ledger.CoinSymbol,
		WindowKey: fmt.Sprintf("T%d:%s", t, hashHex(win[0].hash)),
		Height:    m.height, Time: m.time, LastHeight: m.height,
		Summary: fmt.Sprintf("owner made %d transfers each in [%s, 100%%) of %s within %s, together %s",
			n, bpText(p.RatioBP), coin(t), durationText(time.Duration(p.WindowSeconds)*time.Second), coin(sum)),
		Figures:  map[string]any{"count": n, "sum": sum, "threshold": t, "ratio_bp": p.RatioBP, "window_seconds": p.WindowSeconds},
		Evidence: capEvidence(ev),
	}
}
