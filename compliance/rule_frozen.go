package compliance

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// evalFrozen reports every transaction in the range refused because its signer
// (signer_frozen) or a named counterparty (account_frozen) is frozen. The ledger refuses
// everything else a frozen account could do, so attempts are all there is to see; the
// regulator's own Freeze and Unfreeze are not activity of the account. The subject is the
// frozen party: one violation for each frozen party of the attempt.
func evalFrozen(ctx context.Context, e *Env, _ *NoParams, r Range) ([]Finding, error) {
	var atts []frozenAttempt
	err := e.scan(ctx, "frozen attempts", func(rows pgx.Rows) error {
		var a frozenAttempt
		if err := rows.Scan(&a.height, &a.idx, &a.time, &a.hash, &a.typ, &a.signer, &a.cp, &a.code, &a.reason, &a.asset, &a.amount); err != nil {
			return err
		}
		atts = append(atts, a)
		return nil
	}, `SELECT height, idx, block_time, hash, type, signer, counterparty, code, reason, asset, amount FROM transactions
		WHERE block_time BETWEEN $1 AND $2 AND height BETWEEN $3 AND $4 AND code IN ($5, $6) ORDER BY height, idx`,
		r.FromTime, r.ToTime, r.From, r.To, int32(ledger.CodeSignerFrozen), int32(ledger.CodeAccountFrozen))
	if err != nil {
		return nil, err
	}
	assets := make([]string, 0, len(atts))
	for _, a := range atts {
		if a.amount > 0 {
			assets = append(assets, a.asset)
		}
	}
	if err := e.loadDecimals(ctx, assets); err != nil {
		return nil, err
	}
	var out []Finding
	for _, a := range atts {
		parties, err := e.frozenParties(ctx, &a)
		if err != nil {
			return nil, err
		}
		for _, p := range parties {
			if err := e.loadAccounts(ctx, [][]byte{p.addr}); err != nil {
				return nil, err
			}
			out = append(out, Finding{
				SubjectKind: SubjectAccount, Subject: addrHex(p.addr), WindowKey: hashHex(a.hash), Member: e.acct(p.addr).sponsor,
				Height: a.height, Time: a.time, LastHeight: a.height,
				Summary: fmt.Sprintf("%s refused: attempt %s (%s)", a.typ, p.role, a.reason),
				Figures: map[string]any{"code": a.code, "type": a.typ, "role": p.role},
				Evidence: []Evidence{{Tx: hashHex(a.hash), Height: a.height, Time: a.time, Accounts: e.frozenAccounts(&a, parties),
					Note: fmt.Sprintf("%s signed by %s, refused: %s", e.attemptText(&a), addrHex(a.signer), a.reason)}},
			})
		}
	}
	return out, nil
}

// attemptText is what a refused attempt tried: "transfer of 100.00 CNYS".
func (e *Env) attemptText(a *frozenAttempt) string {
	if a.amount <= 0 || a.asset == "" {
		return a.typ
	}
	return a.typ + " of " + e.amount(a.amount, a.asset)
}

// frozenAccounts are the accounts of a refused attempt: its signer, its counterparty and
// the party its reason names, each once, with the side the transaction gave it.
func (e *Env) frozenAccounts(a *frozenAttempt, parties []frozenParty) []EvidenceAccount {
	var out []EvidenceAccount
	add := func(addr []byte, role string) {
		if addr == nil {
			return
		}
		for _, x := range out {
			if x.Address == addrHex(addr) {
				return
			}
		}
		out = append(out, e.party(addr, role))
	}
	add(a.signer, "signer")
	for _, p := range parties {
		add(p.addr, p.side)
	}
	add(a.cp, "counterparty")
	return out
}

// frozenAttempt is a transaction the ledger refused because an account it involves is frozen.
type frozenAttempt struct {
	height     int64
	idx        int32
	time       time.Time
	hash       []byte
	typ        string
	signer, cp []byte
	code       int32
	reason     string
	asset      string
	amount     int64
}

// frozenParty is a frozen account an attempt involves, and how.
type frozenParty struct {
	addr []byte
	role string
	// side is the party's place in the transaction: signer, counterparty, or the side the
	// ledger's reason names (seller).
	side string
}

// frozenReason finds the account an account_frozen refusal names ("seller 1a2b... is
// frozen"). The ledger names the first frozen party it checks, and the transactions row
// keeps only one counterparty (the buyer of a DvP, the recipient of a transfer), so for a
// venue-signed DvP whose seller is frozen the reason is the only place the seller appears.
var frozenReason = regexp.MustCompile(`\b([a-z]+) ([0-9a-f]{40}) is frozen\b`)

// frozenParties returns the frozen accounts of a refused attempt: the signer of a
// signer_frozen refusal; for account_frozen, the party the reason names and the row's
// counterparty too when the freeze history shows it frozen (a DvP between two frozen
// accounts names only the seller in its reason).
func (e *Env) frozenParties(ctx context.Context, a *frozenAttempt) ([]frozenParty, error) {
	if a.code == int32(ledger.CodeSignerFrozen) {
		if a.signer == nil {
			return nil, nil
		}
		return []frozenParty{{a.signer, "by a frozen account", "signer"}}, nil
	}
	var out []frozenParty
	if m := frozenReason.FindStringSubmatch(a.reason); m != nil {
		named, err := hex.DecodeString(m[2])
		if err != nil {
			return nil, fmt.Errorf("frozen party in %q: %w", a.reason, err)
		}
		out = append(out, frozenParty{named, "naming a frozen " + m[1], m[1]})
	}
	if a.cp != nil && (len(out) == 0 || !bytes.Equal(out[0].addr, a.cp)) {
		frozen, err := e.frozenAt(ctx, a.cp, a.height, a.idx)
		if err != nil {
			return nil, err
		}
		switch {
		case frozen:
			out = append(out, frozenParty{a.cp, "to a frozen account", "counterparty"})
		case len(out) == 0:
			// Neither the reason nor the freeze history names the frozen party: the
			// counterparty is the nearest the row comes to it.
			out = append(out, frozenParty{a.cp, "involving a frozen account", "counterparty"})
		}
	}
	if len(out) == 0 && a.signer != nil {
		out = append(out, frozenParty{a.signer, "involving a frozen account", "signer"})
	}
	return out, nil
}

// frozenAt reports whether an account was frozen when the transaction at height h, index idx
// executed, from the regulator's successful freezes and unfreezes before it.
func (e *Env) frozenAt(ctx context.Context, account []byte, h int64, idx int32) (bool, error) {
	var typ string
	err := e.q.QueryRow(ctx, `SELECT type FROM transactions WHERE type IN ('freeze', 'unfreeze') AND code = 0
		AND counterparty = $1 AND (height < $2 OR (height = $2 AND idx < $3)) ORDER BY height DESC, idx DESC LIMIT 1`,
		account, h, idx).Scan(&typ)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return false, nil
		}
		return false, fmt.Errorf("freeze history: %w", err)
	}
	return typ == "freeze", nil
}
