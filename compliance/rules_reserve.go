package compliance

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ledgerscope/ledgerscope/ledger"
)

func reserveRule() *Rule {
	return &Rule{
		ID: RuleReserve, Title: "Coin supply above attested reserves", Severity: SeverityCritical, Subject: SubjectAsset,
		Source:   "PBOC Measures on the Administration of Payment Institutions' Client Reserve Funds (2021), art. 6-8 (full reserve); 100%",
		defaults: func() Params { return &NoParams{} },
		eval: func(ctx context.Context, e *Env, _ Params, r Range) ([]Finding, error) {
			return evalReserve(ctx, e, r)
		},
	}
}

// coinEvent is an attestation, a mint or a burn of the coin, in execution order.
type coinEvent struct {
	height int64
	idx    int32
	time   time.Time
	hash   []byte
	kind   string // attest, mint, burn
	amount int64
}

// evalReserve reports (a) each coin mint not preceded, since the previous mint, by an
// attestation that raised the reserve, or that takes the supply above the reserve; and (b)
// each block at whose end the supply exceeds the last attested reserve, once per uncovered
// episode, keyed by the block that began it.
func evalReserve(ctx context.Context, e *Env, r Range) ([]Finding, error) {
	// State before the range: supply, the last two attestations, the last mint.
	var supply, reserve, prevReserve int64
	var lastAttH, lastMintH int64 = -1, -1
	var lastAttI, lastMintI int32
	err := e.q.QueryRow(ctx, `SELECT coalesce((SELECT supply FROM supply_history WHERE asset = $1 AND height < $2 ORDER BY height DESC LIMIT 1), 0)`,
		ledger.CoinSymbol, r.From).Scan(&supply)
	if err != nil {
		return nil, fmt.Errorf("coin supply: %w", err)
	}
	rows, err := e.q.Query(ctx, `SELECT height, tx_idx, amount FROM reserve_attestations WHERE height < $1 ORDER BY height DESC, tx_idx DESC LIMIT 2`, r.From)
	if err != nil {
		return nil, fmt.Errorf("attestations: %w", err)
	}
	n := 0
	for rows.Next() {
		var h int64
		var i int32
		var amt int64
		if err := rows.Scan(&h, &i, &amt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("attestations: %w", err)
		}
		if n == 0 {
			lastAttH, lastAttI, reserve = h, i, amt
		} else {
			prevReserve = amt
		}
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("attestations: %w", err)
	}
	err = e.q.QueryRow(ctx, `SELECT height, idx FROM transactions WHERE type = 'mint' AND code = 0 AND asset = $1 AND height < $2
		ORDER BY height DESC, idx DESC LIMIT 1`, ledger.CoinSymbol, r.From).Scan(&lastMintH, &lastMintI)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("last mint: %w", err)
	}
	raised := lastAttH >= 0 && reserve > prevReserve &&
		(lastAttH > lastMintH || (lastAttH == lastMintH && lastAttI > lastMintI))

	// Events of the range, in order.
	var evs []coinEvent
	rows, err = e.q.Query(ctx, `SELECT a.height, a.tx_idx, a.block_time, coalesce(t.hash, ''::bytea), 'attest', a.amount
			FROM reserve_attestations a LEFT JOIN transactions t ON t.block_time = a.block_time AND t.height = a.height AND t.idx = a.tx_idx
			WHERE a.height BETWEEN $2 AND $3
		UNION ALL SELECT height, idx, block_time, hash, type, amount FROM transactions
			WHERE type IN ('mint', 'burn') AND code = 0 AND asset = $1 AND block_time BETWEEN $4 AND $5 AND height BETWEEN $2 AND $3
		ORDER BY 1, 2`, ledger.CoinSymbol, r.From, r.To, r.FromTime, r.ToTime)
	if err != nil {
		return nil, fmt.Errorf("coin events: %w", err)
	}
	for rows.Next() {
		var ev coinEvent
		if err := rows.Scan(&ev.height, &ev.idx, &ev.time, &ev.hash, &ev.kind, &ev.amount); err != nil {
			rows.Close()
			return nil, fmt.Errorf("coin events: %w", err)
		}
		evs = append(evs, ev)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("coin events: %w", err)
	}
	covered := supply <= reserve
	var out []Finding
	endBlock := func(h int64, t time.Time) {
		now := supply <= reserve
		if !now && covered {
			out = append(out, Finding{
				SubjectKind: SubjectAsset, Subject: ledger.CoinSymbol, WindowKey: fmt.Sprintf("uncovered:%d", h), Asset: ledger.CoinSymbol,
				Height: h, Time: t, LastHeight: h,
				Summary:  fmt.Sprintf("coin supply %s above the attested reserve %s at the end of block %d", coin(supply), coin(reserve), h),
				Figures:  map[string]any{"supply": supply, "reserve": reserve, "shortfall": supply - reserve},
				Evidence: []Evidence{{Height: h, Time: t, Note: "end of block"}},
			})
		}
		covered = now
	}
	for i, ev := range evs {
		switch ev.kind {
		case "attest":
			raised = ev.amount > reserve
			reserve = ev.amount
		case "burn":
			supply -= ev.amount
		case "mint":
			supply += ev.amount
			if !raised || supply > reserve {
				why := "no attestation raised the reserve since the previous mint"
				if supply > reserve {
					why = "the mint takes the supply above the attested reserve"
				}
				out = append(out, Finding{
					SubjectKind: SubjectAsset, Subject: ledger.CoinSymbol, WindowKey: "mint:" + hashHex(ev.hash), Asset: ledger.CoinSymbol,
					Height: ev.height, Time: ev.time, LastHeight: ev.height,
					Summary:  fmt.Sprintf("mint of %s: %s (supply %s, reserve %s)", coin(ev.amount), why, coin(supply), coin(reserve)),
					Figures:  map[string]any{"minted": ev.amount, "supply": supply, "reserve": reserve, "reserve_raised": raised},
					Evidence: []Evidence{{Tx: hashHex(ev.hash), Height: ev.height, Time: ev.time, Note: why}},
				})
			}
			raised = false
		}
		if i+1 == len(evs) || evs[i+1].height != ev.height {
			endBlock(ev.height, ev.time)
		}
	}
	return out, nil
}

// AttestAgeParams are the parameters of ATTEST-AGE.
type AttestAgeParams struct {
	// MaxAgeSeconds is how old the last attestation may get, in block time.
	MaxAgeSeconds int64 `json:"max_age_seconds"`
}

// Validate implements Params.
func (p *AttestAgeParams) Validate() error {
	if p.MaxAgeSeconds <= 0 {
		return errors.New("max_age_seconds must be positive")
	}
	return nil
}

func attestAgeRule() *Rule {
	return &Rule{
		ID: RuleAttestAge, Title: "Reserve attestation too old", Severity: SeverityHigh, Subject: SubjectAsset,
		Source:   "PBOC Measures on Client Reserve Funds (2021), art. 29 (monthly reconciliation); 31 days",
		defaults: func() Params { return &AttestAgeParams{MaxAgeSeconds: 31 * 86400} },
		eval: func(ctx context.Context, e *Env, p Params, r Range) ([]Finding, error) {
			return evalAttestAge(ctx, e, p.(*AttestAgeParams), r)
		},
	}
}

// evalAttestAge reports, once per attestation, the first block in the range whose time is
// more than the limit after the last attestation before it. Before any attestation there is
// nothing to age.
func evalAttestAge(ctx context.Context, e *Env, p *AttestAgeParams, r Range) ([]Finding, error) {
	type att struct {
		height int64
		time   time.Time
	}
	var atts []att
	rows, err := e.q.Query(ctx, `(SELECT height, block_time FROM reserve_attestations WHERE height < $1 ORDER BY height DESC, tx_idx DESC LIMIT 1)
		UNION ALL (SELECT height, block_time FROM reserve_attestations WHERE height BETWEEN $1 AND $2)
		ORDER BY 1`, r.From, r.To)
	if err != nil {
		return nil, fmt.Errorf("attestations: %w", err)
	}
	for rows.Next() {
		var a att
		if err := rows.Scan(&a.height, &a.time); err != nil {
			rows.Close()
			return nil, fmt.Errorf("attestations: %w", err)
		}
		if len(atts) > 0 && atts[len(atts)-1].height == a.height {
			continue
		}
		atts = append(atts, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("attestations: %w", err)
	}
	var out []Finding
	for i, a := range atts {
		lo, hi := max(a.height, r.From), r.To
		if i+1 < len(atts) {
			hi = atts[i+1].height - 1 // from the next attestation's block on, the age restarts
		}
		if lo > hi {
			continue
		}
		limit := a.time.Add(time.Duration(p.MaxAgeSeconds) * time.Second)
		var h int64
		var t time.Time
		err := e.q.QueryRow(ctx, `SELECT height, time FROM blocks WHERE height BETWEEN $1 AND $2 AND time > $3 ORDER BY height LIMIT 1`,
			lo, hi, limit).Scan(&h, &t)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("stale block: %w", err)
		}
		out = append(out, Finding{
			SubjectKind: SubjectAsset, Subject: ledger.CoinSymbol, WindowKey: fmt.Sprintf("attestation:%d", a.height), Asset: ledger.CoinSymbol,
			Height: h, Time: t, LastHeight: h,
			Summary:  fmt.Sprintf("last reserve attestation (block %d) is older than %s", a.height, time.Duration(p.MaxAgeSeconds)*time.Second),
			Figures:  map[string]any{"attested_at": a.time, "age_seconds": int64(t.Sub(a.time) / time.Second), "max_age_seconds": p.MaxAgeSeconds},
			Evidence: []Evidence{{Height: a.height, Time: a.time, Note: "last attestation"}, {Height: h, Time: t, Note: "first block past the limit"}},
		})
	}
	return out, nil
}
