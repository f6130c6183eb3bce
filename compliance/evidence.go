package compliance

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// party is account a in a piece of evidence, in role, with its member when the rule has
// loaded the account; completeEvidence fills in the members of the others.
func (e *Env) party(a []byte, role string) EvidenceAccount {
	x := EvidenceAccount{Address: addrHex(a), Role: role}
	if c := e.accounts[string(a)]; c != nil {
		x.Member = c.sponsor
	}
	return x
}

// mover is party for an account that moved amount of asset in the evidence.
func (e *Env) mover(a []byte, role, asset string, amount int64) EvidenceAccount {
	x := e.party(a, role)
	x.Asset, x.Amount = asset, int64p(amount)
	return x
}

// around sets the figure the rule reads of the account before and after the evidence.
func (x EvidenceAccount) around(before, after int64) EvidenceAccount {
	x.Before, x.After = int64p(before), int64p(after)
	return x
}

func int64p(v int64) *int64 { return &v }

// maxEvidenceAccounts bounds the accounts one pass looks up for its findings' evidence.
const maxEvidenceAccounts = 100_000

// completeEvidence fills in the member of every account named in the findings' evidence
// that the rules did not load: a counterparty, or an account seen only in the earlier part
// of a window. An address that is no account is a member's operator key (the issuer of a
// mint, a venue signing a DvP), and its member is that member. It runs on the findings
// only, which are few, and loads what is missing in one batch.
func (e *Env) completeEvidence(ctx context.Context, fs []Finding) error {
	var missing [][]byte
	seen := map[string]bool{}
	for i := range fs {
		for j := range fs[i].Evidence {
			for _, x := range fs[i].Evidence[j].Accounts {
				if x.Member != "" || seen[x.Address] {
					continue
				}
				seen[x.Address] = true
				a, err := hex.DecodeString(x.Address)
				if err != nil {
					return fmt.Errorf("evidence account %q: %w", x.Address, err)
				}
				missing = append(missing, a)
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if len(missing) > maxEvidenceAccounts {
		return fmt.Errorf("evidence names more than %d accounts: evaluate fewer blocks: %w", maxEvidenceAccounts, ErrInvalid)
	}
	if err := e.loadAccounts(ctx, missing); err != nil {
		return err
	}
	if err := e.loadOperators(ctx); err != nil {
		return err
	}
	for i := range fs {
		for j := range fs[i].Evidence {
			accts := fs[i].Evidence[j].Accounts
			for k := range accts {
				if accts[k].Member == "" {
					accts[k].Member = e.memberOf(accts[k].Address)
				}
			}
		}
	}
	return nil
}

// memberOf is the member sponsoring the account at address (hex), or the member whose
// operator key it is; empty when neither is known.
func (e *Env) memberOf(address string) string {
	a, err := hex.DecodeString(address)
	if err != nil {
		return ""
	}
	if c := e.accounts[string(a)]; c != nil && c.sponsor != "" {
		return c.sponsor
	}
	return e.operators[string(a)]
}

// maxMembers bounds the members table read for their operator keys.
const maxMembers = 10_000

// loadOperators reads, once per Env, which member each operator key signs for.
func (e *Env) loadOperators(ctx context.Context) error {
	if e.operators != nil {
		return nil
	}
	ops := map[string]string{}
	err := e.scan(ctx, "member operators", func(rows pgx.Rows) error {
		var id string
		var op []byte
		if err := rows.Scan(&id, &op); err != nil {
			return err
		}
		ops[string(op)] = id
		return nil
	}, `SELECT id, operator FROM members ORDER BY id LIMIT $1`, maxMembers)
	if err != nil {
		return err
	}
	e.operators = ops
	return nil
}

// loadDecimals reads the decimals of the assets not yet known: the rules load those of
// their findings' assets before writing their amounts. The coin's are the ledger's.
func (e *Env) loadDecimals(ctx context.Context, assets []string) error {
	var missing []string
	for _, a := range assets {
		if _, ok := e.decimals[a]; !ok && a != ledger.CoinSymbol && !slices.Contains(missing, a) {
			missing = append(missing, a)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return e.scan(ctx, "asset decimals", func(rows pgx.Rows) error {
		var sym string
		var dec int16
		if err := rows.Scan(&sym, &dec); err != nil {
			return err
		}
		e.decimals[sym] = uint8(dec)
		return nil
	}, `SELECT symbol, decimals FROM assets WHERE symbol = ANY($1)`, missing)
}

// amount is v of asset in its units with the symbol, "12.25 CNYS" or "1000 600900", as
// people read it; an asset whose decimals are not loaded shows its integer, labelled as
// such.
func (e *Env) amount(v int64, asset string) string {
	if asset == ledger.CoinSymbol {
		return coin(v)
	}
	dec, ok := e.decimals[asset]
	if !ok {
		return fmt.Sprintf("%d %s (smallest unit)", v, asset)
	}
	if v < 0 {
		return "-" + ledger.FormatAmount(uint64(-v), dec) + " " + asset
	}
	return ledger.FormatAmount(uint64(v), dec) + " " + asset
}
