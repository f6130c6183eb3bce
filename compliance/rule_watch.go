package compliance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// WatchParams are the parameters of WATCH.
type WatchParams struct {
	// WatchlistVersion pins a watch list version; 0 follows the latest upload.
	WatchlistVersion int64 `json:"watchlist_version"`
}

// Validate implements Params.
func (p *WatchParams) Validate() error {
	if p.WatchlistVersion < 0 {
		return errors.New("watchlist_version must not be negative")
	}
	return nil
}

// evalWatch reports every transaction in the range, failed ones included, whose signer,
// counterparty or leg touches an account on the watch list, or an account of an owner on it.
func evalWatch(ctx context.Context, e *Env, p *WatchParams, r Range) ([]Finding, error) {
	version := int32(p.WatchlistVersion)
	if version == 0 {
		version = e.WatchlistVersion
	}
	if version == 0 {
		return nil, nil
	}
	watched, list, err := e.watched(ctx, version)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	hits, err := e.watchedActivity(ctx, r, list)
	if err != nil {
		return nil, err
	}
	if err := e.loadDecimals(ctx, watchAssets(hits)); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []Finding
	for _, h := range hits {
		for _, party := range [][]byte{h.a, h.b} {
			reason, ok := watched[string(party)]
			if party == nil || !ok || seen[string(party)+string(h.hash)] || h.actedOn(party) {
				continue
			}
			seen[string(party)+string(h.hash)] = true
			if err := e.loadAccounts(ctx, [][]byte{party}); err != nil {
				return nil, err
			}
			out = append(out, Finding{
				SubjectKind: SubjectAccount, Subject: addrHex(party), WindowKey: hashHex(h.hash), Member: e.acct(party).sponsor,
				Height: h.height, Time: h.time, LastHeight: h.height,
				Summary:  fmt.Sprintf("%s involving a watch-listed party (%s)", h.typ, reason),
				Figures:  map[string]any{"watchlist_version": version, "reason": reason, "code": h.code},
				Evidence: []Evidence{e.watchEvidence(&h, party, reason)},
			})
		}
	}
	return out, nil
}

// watchAssets are the assets whose amounts the hits' evidence writes.
func watchAssets(hits []watchHit) []string {
	var out []string
	for i := range hits {
		if hits[i].amount > 0 && !slices.Contains(out, hits[i].asset) {
			out = append(out, hits[i].asset)
		}
	}
	return out
}

// watchEvidence is hit h as evidence about the listed party: what the transaction (or its
// leg) did, whether it went through, and its two parties.
func (e *Env) watchEvidence(h *watchHit, party []byte, reason string) Evidence {
	roleA, roleB, what := "signer", "counterparty", h.typ
	if h.leg != "" {
		roleA, roleB, what = "from", "to", h.typ+", "+legText(h.leg)
	}
	if h.amount > 0 && h.asset != "" {
		what += " of " + e.amount(h.amount, h.asset)
	}
	outcome := "succeeded"
	if h.code != 0 {
		outcome = "refused (" + ledger.Code(h.code).String() + ")"
	}
	role := roleA
	if bytes.Equal(party, h.b) {
		role = roleB
	}
	accts := []EvidenceAccount{}
	for _, p := range []struct {
		a    []byte
		role string
	}{{h.a, roleA}, {h.b, roleB}} {
		if p.a == nil {
			continue
		}
		if h.leg != "" {
			accts = append(accts, e.mover(p.a, p.role, h.asset, h.amount))
		} else {
			accts = append(accts, e.party(p.a, p.role))
		}
	}
	return Evidence{Tx: hashHex(h.hash), Height: h.height, Time: h.time, Accounts: accts,
		Note: fmt.Sprintf("%s, %s; its %s %s is on the watch list: %s", what, outcome, role, addrHex(party), reason)}
}

// watched reads a watch list version as the accounts it names, with the reason of each,
// and their list: an owner_ref entry names each account of the owner.
func (e *Env) watched(ctx context.Context, version int32) (map[string]string, [][]byte, error) {
	watched := map[string]string{} // address -> reason
	var list [][]byte
	err := e.scan(ctx, fmt.Sprintf("watch list %d", version), func(rows pgx.Rows) error {
		var a []byte
		var reason string
		if err := rows.Scan(&a, &reason); err != nil {
			return err
		}
		if _, ok := watched[string(a)]; !ok {
			list = append(list, a)
		}
		watched[string(a)] = reason
		return nil
	}, `SELECT w.value, w.reason FROM watchlist_entries w WHERE w.version = $1 AND w.kind = 'address'
		UNION ALL SELECT a.address, w.reason FROM watchlist_entries w JOIN accounts a ON a.owner_ref = w.value
		WHERE w.version = $1 AND w.kind = 'owner_ref'`, version)
	if err != nil {
		return nil, nil, err
	}
	return watched, list, nil
}

// watchHit is a transaction, or one of its legs, with two parties that may be watched.
type watchHit struct {
	height int64
	time   time.Time
	hash   []byte
	typ    string
	a, b   []byte
	code   int32
	// leg is the kind of a settlement leg, empty for the transaction's own signer and
	// counterparty; asset and amount are the leg's, or the transaction's.
	leg    string
	asset  string
	amount int64
}

// actedOn reports whether party is only the object of the regulator's freeze or unfreeze:
// the party did not act, as FROZEN reads it, and a supervisor does not want its own
// measure reported back as the listed party's activity.
func (h *watchHit) actedOn(party []byte) bool {
	return (h.typ == "freeze" || h.typ == "unfreeze") && bytes.Equal(party, h.b) && !bytes.Equal(party, h.a)
}

// watchedActivity reads the range's transactions and legs a party of list takes part in,
// ordered by height and hash.
func (e *Env) watchedActivity(ctx context.Context, r Range, list [][]byte) ([]watchHit, error) {
	var hits []watchHit
	// A plain transfer's leg is its signer and counterparty, which the first part reads: the
	// second reads the stored legs only.
	err := e.scan(ctx, "watched activity", func(rows pgx.Rows) error {
		var h watchHit
		var seq int32
		if err := rows.Scan(&h.height, &h.time, &h.hash, &h.typ, &h.a, &h.b, &h.code, &seq, &h.leg, &h.asset, &h.amount); err != nil {
			return err
		}
		hits = append(hits, h)
		return nil
	}, `SELECT height, block_time, hash, type, signer, counterparty, code, 0, '', asset, amount FROM transactions
			WHERE block_time BETWEEN $1 AND $2 AND height BETWEEN $3 AND $4 AND (signer = ANY($5) OR counterparty = ANY($5))
		UNION SELECT t.height, t.block_time, t.hash, t.type, l.from_addr, l.to_addr, t.code, l.seq + 1, l.leg, l.asset, l.amount FROM settlement_legs l
			JOIN transactions t ON t.block_time = l.block_time AND t.height = l.height AND t.idx = l.tx_idx
			WHERE l.block_time BETWEEN $1 AND $2 AND l.height BETWEEN $3 AND $4 AND (l.from_addr = ANY($5) OR l.to_addr = ANY($5))
		ORDER BY 1, 3, 8`, r.FromTime, r.ToTime, r.From, r.To, list)
	if err != nil {
		return nil, err
	}
	return hits, nil
}
