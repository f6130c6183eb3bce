package compliance

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// coinEvent is an attestation, a mint or a burn of the coin, in execution order.
type coinEvent struct {
	height int64
	idx    int32
	time   time.Time
	hash   []byte
	kind   string // attest, mint, burn
	amount int64
	// signer signed the transaction (the issuer's or attestor's operator key); to is a
	// mint's recipient.
	signer, to []byte
}

// evalReserve reports (a) each coin mint not preceded, since the previous mint, by an
// attestation that raised the reserve, or that takes the supply above the reserve; and (b)
// each block at whose end the supply exceeds the last attested reserve, once per uncovered
// episode, keyed by the block that began it.
func evalReserve(ctx context.Context, e *Env, _ *NoParams, r Range) ([]Finding, error) {
	f, err := e.reserveBefore(ctx, r)
	if err != nil {
		return nil, err
	}
	evs, err := e.coinEvents(ctx, r)
	if err != nil {
		return nil, err
	}
	for i := range evs {
		ev := &evs[i]
		f.event(ev)
		if i+1 == len(evs) || evs[i+1].height != ev.height {
			f.endBlock(ev.height, ev.time)
		}
	}
	return f.out, nil
}

// reserveFold is the coin's supply and attested reserve as RESERVE folds the coin events,
// and what it found.
type reserveFold struct {
	supply, reserve int64
	// raised says whether an attestation raised the reserve since the last mint: any of
	// them, not only the last.
	raised bool
	// covered says whether the supply was within the reserve at the last block end.
	covered bool
	out     []Finding
}

// reserveBefore reads the state before the range: supply, the last attestation, and
// whether an attestation since the last mint raised the reserve.
func (e *Env) reserveBefore(ctx context.Context, r Range) (*reserveFold, error) {
	var supply, reserve int64
	var lastMintH int64 = -1
	var lastMintI int32
	err := e.q.QueryRow(ctx, `SELECT coalesce((SELECT supply FROM supply_history WHERE asset = $1 AND height < $2 ORDER BY height DESC LIMIT 1), 0)`,
		ledger.CoinSymbol, r.From).Scan(&supply)
	if err != nil {
		return nil, fmt.Errorf("coin supply: %w", err)
	}
	err = e.q.QueryRow(ctx, `SELECT coalesce((SELECT amount FROM reserve_attestations WHERE height < $1 ORDER BY height DESC, tx_idx DESC LIMIT 1), 0)`,
		r.From).Scan(&reserve)
	if err != nil {
		return nil, fmt.Errorf("last attestation: %w", err)
	}
	err = e.q.QueryRow(ctx, `SELECT height, idx FROM transactions WHERE type = 'mint' AND code = 0 AND asset = $1 AND height < $2
		ORDER BY height DESC, idx DESC LIMIT 1`, ledger.CoinSymbol, r.From).Scan(&lastMintH, &lastMintI)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("last mint: %w", err)
	}
	// Any attestation since that mint that raised the reserve counts, not only the last: one
	// that raises it and a lower one after still precede the next mint with a raise.
	var raised bool
	err = e.q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM (
			SELECT height, tx_idx, amount > lag(amount, 1, 0::bigint) OVER (ORDER BY height, tx_idx) AS up
			FROM reserve_attestations WHERE height < $1) a
		WHERE up AND (height > $2 OR (height = $2 AND tx_idx > $3)))`, r.From, lastMintH, lastMintI).Scan(&raised)
	if err != nil {
		return nil, fmt.Errorf("attestations since the last mint: %w", err)
	}
	return &reserveFold{supply: supply, reserve: reserve, raised: raised, covered: supply <= reserve}, nil
}

// coinEvents reads the range's attestations and the coin's mints and burns, in order.
func (e *Env) coinEvents(ctx context.Context, r Range) ([]coinEvent, error) {
	var evs []coinEvent
	err := e.scan(ctx, "coin events", func(rows pgx.Rows) error {
		var ev coinEvent
		if err := rows.Scan(&ev.height, &ev.idx, &ev.time, &ev.hash, &ev.kind, &ev.amount, &ev.signer, &ev.to); err != nil {
			return err
		}
		evs = append(evs, ev)
		return nil
	}, `SELECT a.height, a.tx_idx, a.block_time, coalesce(t.hash, ''::bytea), 'attest', a.amount, t.signer, NULL::bytea
			FROM reserve_attestations a LEFT JOIN transactions t ON t.block_time = a.block_time AND t.height = a.height AND t.idx = a.tx_idx
			WHERE a.height BETWEEN $2 AND $3
		UNION ALL SELECT height, idx, block_time, hash, type, amount, signer, CASE WHEN type = 'mint' THEN counterparty END FROM transactions
			WHERE type IN ('mint', 'burn') AND code = 0 AND asset = $1 AND block_time BETWEEN $4 AND $5 AND height BETWEEN $2 AND $3
		ORDER BY 1, 2`, ledger.CoinSymbol, r.From, r.To, r.FromTime, r.ToTime)
	if err != nil {
		return nil, err
	}
	return evs, nil
}

// event folds one attestation, mint or burn; a mint the reserve does not back is a finding.
func (f *reserveFold) event(ev *coinEvent) {
	switch ev.kind {
	case "attest":
		f.raised = f.raised || ev.amount > f.reserve // since the previous mint
		f.reserve = ev.amount
	case "burn":
		f.supply -= ev.amount
	case "mint":
		f.supply += ev.amount
		if !f.raised || f.supply > f.reserve {
			why := "no attestation raised the reserve since the previous mint"
			if f.supply > f.reserve {
				why = "the mint takes the supply above the attested reserve"
			}
			f.out = append(f.out, Finding{
				SubjectKind: SubjectAsset, Subject: ledger.CoinSymbol, WindowKey: "mint:" + hashHex(ev.hash), Asset: ledger.CoinSymbol,
				Height: ev.height, Time: ev.time, LastHeight: ev.height,
				Summary:  fmt.Sprintf("mint of %s: %s (supply %s, reserve %s)", coin(ev.amount), why, coin(f.supply), coin(f.reserve)),
				Figures:  map[string]any{"minted": ev.amount, "supply": f.supply, "reserve": f.reserve, "reserve_raised": f.raised},
				Evidence: []Evidence{f.mintEvidence(ev, why)},
			})
		}
		f.raised = false
	}
}

// mintEvidence is a mint the reserve does not back, folded: its signer (the issuer's
// operator), its recipient, and the supply before and after it against the reserve.
func (f *reserveFold) mintEvidence(ev *coinEvent, why string) Evidence {
	var accts []EvidenceAccount
	if ev.signer != nil {
		accts = append(accts, EvidenceAccount{Address: addrHex(ev.signer), Role: "signer"})
	}
	if ev.to != nil {
		accts = append(accts, EvidenceAccount{Address: addrHex(ev.to), Role: "to", Asset: ledger.CoinSymbol, Amount: int64p(ev.amount)})
	}
	return Evidence{Tx: hashHex(ev.hash), Height: ev.height, Time: ev.time, Accounts: accts,
		Note: fmt.Sprintf("minted %s: the coin supply went from %s to %s against an attested reserve of %s; %s",
			coin(ev.amount), coin(f.supply-ev.amount), coin(f.supply), coin(f.reserve), why)}
}

// endBlock reports the block end h (at time t) where the supply first exceeds the reserve.
func (f *reserveFold) endBlock(h int64, t time.Time) {
	now := f.supply <= f.reserve
	if !now && f.covered {
		f.out = append(f.out, Finding{
			SubjectKind: SubjectAsset, Subject: ledger.CoinSymbol, WindowKey: fmt.Sprintf("uncovered:%d", h), Asset: ledger.CoinSymbol,
			Height: h, Time: t, LastHeight: h,
			Summary: fmt.Sprintf("coin supply %s above the attested reserve %s at the end of block %d", coin(f.supply), coin(f.reserve), h),
			Figures: map[string]any{"supply": f.supply, "reserve": f.reserve, "shortfall": f.supply - f.reserve},
			Evidence: []Evidence{{Height: h, Time: t, Note: fmt.Sprintf("at the end of the block the coin supply is %s and the last attested reserve %s, %s short",
				coin(f.supply), coin(f.reserve), coin(f.supply-f.reserve))}},
		})
	}
	f.covered = now
}
