package compliance

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ledgerscope/ledgerscope/ledger"
)

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

// evalAttestAge reports, once per attestation, the first block in the range whose time is
// more than the limit after the last attestation before it. Before any attestation there is
// nothing to age.
func evalAttestAge(ctx context.Context, e *Env, p *AttestAgeParams, r Range) ([]Finding, error) {
	var atts []attestation
	err := e.scan(ctx, "attestations", func(rows pgx.Rows) error {
		var a attestation
		if err := rows.Scan(&a.height, &a.time, &a.reserve, &a.supply, &a.hash, &a.signer); err != nil {
			return err
		}
		// The block's last attestation stands for it: its time is the block's.
		if n := len(atts); n > 0 && atts[n-1].height == a.height {
			atts[n-1] = a
		} else {
			atts = append(atts, a)
		}
		return nil
	}, `SELECT a.height, a.block_time, a.amount, a.coin_supply, t.hash, t.signer FROM (
			(SELECT * FROM reserve_attestations WHERE height < $1 ORDER BY height DESC, tx_idx DESC LIMIT 1)
			UNION ALL (SELECT * FROM reserve_attestations WHERE height BETWEEN $1 AND $2)) a
		LEFT JOIN transactions t ON t.block_time = a.block_time AND t.height = a.height AND t.idx = a.tx_idx
		ORDER BY a.height, a.tx_idx`, r.From, r.To)
	if err != nil {
		return nil, err
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
		if h == lo && lo > a.height {
			// Stale from before the range, and reported then: once per attestation.
			prev, err := e.blockTime(ctx, lo-1)
			if err != nil {
				return nil, err
			}
			if prev.After(limit) {
				continue
			}
		}
		out = append(out, Finding{
			SubjectKind: SubjectAsset, Subject: ledger.CoinSymbol, WindowKey: fmt.Sprintf("attestation:%d", a.height), Asset: ledger.CoinSymbol,
			Height: h, Time: t, LastHeight: h,
			Summary: fmt.Sprintf("last reserve attestation (block %d) is older than %s", a.height, durationText(time.Duration(p.MaxAgeSeconds)*time.Second)),
			Figures: map[string]any{"attested_at": a.time, "age_seconds": int64(t.Sub(a.time) / time.Second), "max_age_seconds": p.MaxAgeSeconds},
			Evidence: []Evidence{a.evidence(), {Height: h, Time: t, Note: fmt.Sprintf("first block more than %s after the attestation: it is %s old at %s",
				durationText(time.Duration(p.MaxAgeSeconds)*time.Second), durationText(t.Sub(a.time)), timeText(t))}},
		})
	}
	return out, nil
}

// attestation is a reserve attestation: its block, the reserve it attested and the coin
// supply then, its transaction and signer.
type attestation struct {
	height          int64
	time            time.Time
	reserve, supply int64
	hash, signer    []byte
}

// evidence is the attestation as evidence: the last one before the limit passed.
func (a *attestation) evidence() Evidence {
	ev := Evidence{Height: a.height, Time: a.time,
		Note: fmt.Sprintf("last reserve attestation, at %s: a reserve of %s against a coin supply of %s",
			timeText(a.time), coin(a.reserve), coin(a.supply))}
	if a.hash != nil {
		ev.Tx = hashHex(a.hash)
	}
	if a.signer != nil {
		ev.Accounts = []EvidenceAccount{{Address: addrHex(a.signer), Role: "signer"}}
	}
	return ev
}
