package compliance

import (
	"context"
	"errors"
	"fmt"
	"time"
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

func watchRule() *Rule {
	return &Rule{
		ID: RuleWatch, Title: "Party on the regulator's watch list", Severity: SeverityCritical, Subject: SubjectAccount,
		Source:   "Anti-Money Laundering Law of the PRC (2024), art. 40 (lists of persons under measures); zero tolerance",
		defaults: func() Params { return &WatchParams{} },
		eval: func(ctx context.Context, e *Env, p Params, r Range) ([]Finding, error) {
			return evalWatch(ctx, e, p.(*WatchParams), r)
		},
	}
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
	watched := map[string]string{} // address -> reason
	rows, err := e.q.Query(ctx, `SELECT w.value, w.reason FROM watchlist_entries w WHERE w.version = $1 AND w.kind = 'address'
		UNION ALL SELECT a.address, w.reason FROM watchlist_entries w JOIN accounts a ON a.owner_ref = w.value
		WHERE w.version = $1 AND w.kind = 'owner_ref'`, version)
	if err != nil {
		return nil, fmt.Errorf("watch list %d: %w", version, err)
	}
	var list [][]byte
	for rows.Next() {
		var a []byte
		var reason string
		if err := rows.Scan(&a, &reason); err != nil {
			rows.Close()
			return nil, fmt.Errorf("watch list %d: %w", version, err)
		}
		if _, ok := watched[string(a)]; !ok {
			list = append(list, a)
		}
		watched[string(a)] = reason
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("watch list %d: %w", version, err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	// A plain transfer's leg is its signer and counterparty, which the first part reads: the
	// second reads the stored legs only.
	rows, err = e.q.Query(ctx, `SELECT height, block_time, hash, type, signer, counterparty, code FROM transactions
			WHERE block_time BETWEEN $1 AND $2 AND height BETWEEN $3 AND $4 AND (signer = ANY($5) OR counterparty = ANY($5))
		UNION SELECT t.height, t.block_time, t.hash, t.type, l.from_addr, l.to_addr, t.code FROM settlement_legs l
			JOIN transactions t ON t.block_time = l.block_time AND t.height = l.height AND t.idx = l.tx_idx
			WHERE l.block_time BETWEEN $1 AND $2 AND l.height BETWEEN $3 AND $4 AND (l.from_addr = ANY($5) OR l.to_addr = ANY($5))
		ORDER BY 1, 3`, r.FromTime, r.ToTime, r.From, r.To, list)
	if err != nil {
		return nil, fmt.Errorf("watched activity: %w", err)
	}
	type hit struct {
		height int64
		time   time.Time
		hash   []byte
		typ    string
		a, b   []byte
		code   int32
	}
	var hits []hit
	for rows.Next() {
		var h hit
		if err := rows.Scan(&h.height, &h.time, &h.hash, &h.typ, &h.a, &h.b, &h.code); err != nil {
			rows.Close()
			return nil, fmt.Errorf("watched activity: %w", err)
		}
		hits = append(hits, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("watched activity: %w", err)
	}
	seen := map[string]bool{}
	var out []Finding
	for _, h := range hits {
		for _, party := range [][]byte{h.a, h.b} {
			reason, ok := watched[string(party)]
			if party == nil || !ok || seen[string(party)+string(h.hash)] {
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
				Evidence: []Evidence{{Tx: hashHex(h.hash), Height: h.height, Time: h.time, Note: fmt.Sprintf("%s, code %d", h.typ, h.code)}},
			})
		}
	}
	return out, nil
}
