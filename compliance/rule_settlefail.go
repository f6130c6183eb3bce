package compliance

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// evalSettleFail reports gateway settlements that failed in the range (by the gateway or on
// expiry), and those still open at the range's end though their deadline passed within it.
// Both are keyed by the settlement, so one settlement is one violation.
func evalSettleFail(ctx context.Context, e *Env, _ *NoParams, r Range) ([]Finding, error) {
	prev := r.FromTime
	if r.From > 1 {
		t, err := e.blockTime(ctx, r.From-1)
		if err != nil {
			return nil, err
		}
		prev = t
	}
	type st struct {
		id, seller, buyer []byte
		state, asset      string
		qty, cash         int64
		deadline          time.Time
		reason            string
		oh                int64
		ot                time.Time
		ch                int64
		ct                time.Time
		gateway           string
	}
	var ss []st
	err := e.scan(ctx, "failed settlements", func(rows pgx.Rows) error {
		var s st
		if err := rows.Scan(&s.id, &s.state, &s.seller, &s.buyer, &s.asset, &s.qty, &s.cash, &s.deadline, &s.reason, &s.oh, &s.ot, &s.ch, &s.ct, &s.gateway); err != nil {
			return err
		}
		ss = append(ss, s)
		return nil
	}, `SELECT id, state, seller, buyer, asset, quantity, cash, deadline, reason, opened_height, opened_time,
			coalesce(closed_height, 0), coalesce(closed_time, opened_time), gateway
		FROM settlements WHERE kind = 'gateway' AND (
			(state = 'failed' AND closed_height BETWEEN $1 AND $2)
			OR (deadline >= $3 AND deadline < $4 AND opened_height <= $2 AND (closed_height IS NULL OR closed_height > $2)))
		ORDER BY opened_height, id`, r.From, r.To, prev, r.ToTime)
	if err != nil {
		return nil, err
	}
	assets := make([]string, 0, len(ss))
	for _, s := range ss {
		assets = append(assets, s.asset)
	}
	if err := e.loadDecimals(ctx, assets); err != nil {
		return nil, err
	}
	var out []Finding
	for _, s := range ss {
		if err := e.loadAccounts(ctx, [][]byte{s.seller}); err != nil {
			return nil, err
		}
		h, t, what := s.ch, s.ct, "failed: "+s.reason
		if s.state != "failed" || s.ch > r.To {
			h, t, what = r.To, r.ToTime, "still locked after its deadline"
		}
		qty := e.amount(s.qty, s.asset)
		out = append(out, Finding{
			SubjectKind: SubjectAccount, Subject: addrHex(s.seller), WindowKey: hashHex(s.id), Member: e.acct(s.seller).sponsor,
			Asset: s.asset, Height: h, Time: t, LastHeight: h,
			Summary: fmt.Sprintf("gateway settlement of %s against %s through %s %s", qty, fiatText(s.cash), s.gateway, what),
			Figures: map[string]any{"quantity": s.qty, "fiat": s.cash, "deadline": s.deadline, "state": s.state, "buyer": addrHex(s.buyer)},
			Evidence: []Evidence{
				{Tx: hashHex(s.id), Height: s.oh, Time: s.ot,
					Note: fmt.Sprintf("%s locked %s for %s, who is to pay %s through %s by %s", addrHex(s.seller), qty, addrHex(s.buyer),
						fiatText(s.cash), s.gateway, timeText(s.deadline)),
					Accounts: []EvidenceAccount{e.mover(s.seller, "seller", s.asset, s.qty), e.mover(s.buyer, "buyer", s.asset, s.qty)}},
				{Height: h, Time: t, Note: what},
			},
		})
	}
	return out, nil
}
