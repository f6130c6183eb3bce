package compliance

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// NoParams is the parameter set of a rule without parameters (zero tolerance).
type NoParams struct{}

// Validate implements Params.
func (*NoParams) Validate() error { return nil }

func frozenRule() *Rule {
	return &Rule{
		ID: RuleFrozen, Title: "Activity by or to a frozen account", Severity: SeverityHigh, Subject: SubjectAccount,
		Source:   "Securities Law of the PRC (2019), art. 170 (freezing by the CSRC); zero tolerance",
		defaults: func() Params { return &NoParams{} },
		eval: func(ctx context.Context, e *Env, _ Params, r Range) ([]Finding, error) {
			return evalFrozen(ctx, e, r)
		},
	}
}

// evalFrozen reports every transaction in the range refused because its signer
// (signer_frozen) or a named counterparty (account_frozen) is frozen. The ledger refuses
// everything else a frozen account could do, so attempts are all there is to see; the
// regulator's own Freeze and Unfreeze are not activity of the account. The subject is the
// frozen party: one violation for each frozen party of the attempt.
func evalFrozen(ctx context.Context, e *Env, r Range) ([]Finding, error) {
	rows, err := e.q.Query(ctx, `SELECT height, idx, block_time, hash, type, signer, counterparty, code, reason FROM transactions
		WHERE block_time BETWEEN $1 AND $2 AND height BETWEEN $3 AND $4 AND code IN ($5, $6) ORDER BY height, idx`,
		r.FromTime, r.ToTime, r.From, r.To, int32(ledger.CodeSignerFrozen), int32(ledger.CodeAccountFrozen))
	if err != nil {
		return nil, fmt.Errorf("frozen attempts: %w", err)
	}
	var atts []frozenAttempt
	for rows.Next() {
		var a frozenAttempt
		if err := rows.Scan(&a.height, &a.idx, &a.time, &a.hash, &a.typ, &a.signer, &a.cp, &a.code, &a.reason); err != nil {
			rows.Close()
			return nil, fmt.Errorf("frozen attempts: %w", err)
		}
		atts = append(atts, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("frozen attempts: %w", err)
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
				Evidence: []Evidence{{Tx: hashHex(a.hash), Height: a.height, Time: a.time,
					Note: fmt.Sprintf("%s signed by %s, refused: %s", a.typ, addrHex(a.signer), a.reason)}},
			})
		}
	}
	return out, nil
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
}

// frozenParty is a frozen account an attempt involves, and how.
type frozenParty struct {
	addr []byte
	role string
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
		return []frozenParty{{a.signer, "by a frozen account"}}, nil
	}
	var out []frozenParty
	if m := frozenReason.FindStringSubmatch(a.reason); m != nil {
		named, err := hex.DecodeString(m[2])
		if err != nil {
			return nil, fmt.Errorf("frozen party in %q: %w", a.reason, err)
		}
		out = append(out, frozenParty{named, "naming a frozen " + m[1]})
	}
	if a.cp != nil && (len(out) == 0 || !bytes.Equal(out[0].addr, a.cp)) {
		frozen, err := e.frozenAt(ctx, a.cp, a.height, a.idx)
		if err != nil {
			return nil, err
		}
		switch {
		case frozen:
			out = append(out, frozenParty{a.cp, "to a frozen account"})
		case len(out) == 0:
			// Neither the reason nor the freeze history names the frozen party: the
			// counterparty is the nearest the row comes to it.
			out = append(out, frozenParty{a.cp, "involving a frozen account"})
		}
	}
	if len(out) == 0 && a.signer != nil {
		out = append(out, frozenParty{a.signer, "involving a frozen account"})
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

// leg is a transfer leg with its transaction's hash.
type leg struct {
	height   int64
	idx      int32
	time     time.Time
	hash     []byte
	kind     string
	from, to []byte
	asset    string
	amount   int64
}

// maxLegs bounds the legs one evaluation reads.
const maxLegs = 2_000_000

// selfLegs reads the range's transfer legs between two accounts of one beneficial owner, in
// order, with their tx hashes. The owners are compared in the query: reading every leg of
// a 200-block range to compare them here moved a million rows to find a hundred. An
// address the accounts table does not know (it cannot happen for a synced block) is an
// owner of its own, as acct reads it.
func (e *Env) selfLegs(ctx context.Context, r Range) ([]leg, error) {
	var out []leg
	err := e.scan(ctx, "self legs", func(rows pgx.Rows) error {
		var l leg
		if err := rows.Scan(&l.height, &l.idx, &l.time, &l.hash, &l.kind, &l.from, &l.to, &l.asset, &l.amount); err != nil {
			return err
		}
		out = append(out, l)
		if len(out) > maxLegs {
			return fmt.Errorf("more than %d legs in %d..%d: evaluate fewer blocks: %w", maxLegs, r.From, r.To, ErrInvalid)
		}
		return nil
	}, `SELECT l.height, l.tx_idx, l.block_time, l.tx_hash, l.leg, l.from_addr, l.to_addr, l.asset, l.amount
		FROM transfer_legs l
		LEFT JOIN accounts f ON f.address = l.from_addr
		LEFT JOIN accounts o ON o.address = l.to_addr
		WHERE l.block_time BETWEEN $1 AND $2 AND l.height BETWEEN $3 AND $4
		  AND coalesce(f.owner_ref, 'unknown:'::bytea || l.from_addr) = coalesce(o.owner_ref, 'unknown:'::bytea || l.to_addr)
		ORDER BY l.height, l.tx_idx, l.seq`,
		r.FromTime, r.ToTime, r.From, r.To)
	return out, err
}

func selfRule() *Rule {
	return &Rule{
		ID: RuleSelf, Title: "Self-dealing or wash trade", Severity: SeverityHigh, Subject: SubjectOwner,
		Source:   "Securities Law of the PRC (2019), art. 55 para. 1 (3) (trading between accounts one controls); flag all",
		defaults: func() Params { return &NoParams{} },
		eval: func(ctx context.Context, e *Env, _ Params, r Range) ([]Finding, error) {
			self, err := e.selfLegs(ctx, r)
			if err != nil {
				return nil, err
			}
			addrs := make([][]byte, len(self))
			for i, l := range self {
				addrs[i] = l.from
			}
			if err := e.loadAccounts(ctx, addrs); err != nil {
				return nil, err
			}
			byTx := map[string]int{}
			var out []Finding
			for _, l := range self {
				from := e.acct(l.from)
				ev := Evidence{Tx: hashHex(l.hash), Height: l.height, Time: l.time,
					Note: fmt.Sprintf("%s leg: %d %s from %s to %s", l.kind, l.amount, l.asset, addrHex(l.from), addrHex(l.to))}
				key := string(l.hash) + string(from.owner)
				if i, ok := byTx[key]; ok {
					out[i].Evidence = append(out[i].Evidence, ev)
					continue
				}
				byTx[key] = len(out)
				out = append(out, Finding{
					SubjectKind: SubjectOwner, Subject: ownerHex(from.owner), WindowKey: hashHex(l.hash), Member: from.sponsor,
					Asset: l.asset, Height: l.height, Time: l.time, LastHeight: l.height,
					Summary:  fmt.Sprintf("%s of %d %s between two accounts of one beneficial owner", l.kind, l.amount, l.asset),
					Figures:  map[string]any{"from": addrHex(l.from), "to": addrHex(l.to), "amount": l.amount, "asset": l.asset},
					Evidence: []Evidence{ev},
				})
			}
			return out, nil
		},
	}
}

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

// MatchedParams are the parameters of MATCHED.
type MatchedParams struct {
	// WindowSeconds is Δt: the most time between the two trades.
	WindowSeconds int64 `json:"window_seconds"`
	// ToleranceBP is p: size and price agree within this share of the larger, in basis points.
	ToleranceBP int64 `json:"tolerance_bp"`
}

// Validate implements Params.
func (p *MatchedParams) Validate() error {
	if p.WindowSeconds < 0 || p.WindowSeconds > 86400 {
		return errors.New("window_seconds must be in [0, 86400]")
	}
	if p.ToleranceBP < 0 || p.ToleranceBP > 10_000 {
		return errors.New("tolerance_bp must be in [0, 10000]")
	}
	return nil
}

func matchedRule() *Rule {
	return &Rule{
		ID: RuleMatched, Title: "Matched trades between linked owners", Severity: SeverityHigh, Subject: SubjectOwner,
		shares:   sharesTrades,
		Source:   "Securities Law of the PRC (2019), art. 55 para. 1 (2) (matched orders with a related party)",
		defaults: func() Params { return &MatchedParams{WindowSeconds: 5, ToleranceBP: 100} },
		eval: func(ctx context.Context, e *Env, p Params, r Range) ([]Finding, error) {
			return evalMatched(ctx, e, p.(*MatchedParams), r)
		},
	}
}

// trade is a final settlement: a DvP, or a confirmed gateway settlement.
type trade struct {
	id            []byte
	kind          string
	seller, buyer []byte
	asset, venue  string
	qty, cash     int64
	height        int64
	time          time.Time
}

// tradeLoad is the trades an Env loaded, those final in heights [h1, h2], ordered by
// height and settlement id.
type tradeLoad struct {
	h1, h2 int64
	ts     []trade
}

// trades returns the trades that became final in heights [h1, h2], ordered by height and
// settlement id. MATCHED, SESSION and DVP-ATOM read them for the same range end (MATCHED
// from further back): what was loaded for that end is reused and, for an earlier start,
// extended backwards. Callers must not modify what it returns.
func (e *Env) trades(ctx context.Context, h1, h2 int64) ([]trade, error) {
	c := e.tradeLoads[h2]
	if c != nil && c.h1 <= h1 {
		from := sort.Search(len(c.ts), func(i int) bool { return c.ts[i].height >= h1 })
		return c.ts[from:], nil
	}
	to := h2
	if c != nil {
		to = c.h1 - 1
	}
	ts, err := e.loadTrades(ctx, h1, to)
	if err != nil {
		return nil, err
	}
	if c != nil {
		ts = append(ts, c.ts...)
	}
	if len(ts) > maxLegs {
		return nil, fmt.Errorf("more than %d trades in %d..%d: %w", maxLegs, h1, h2, ErrInvalid)
	}
	e.tradeLoads[h2] = &tradeLoad{h1, h2, ts}
	return ts, nil
}

// loadTrades is trades without the cache.
func (e *Env) loadTrades(ctx context.Context, h1, h2 int64) ([]trade, error) {
	rows, err := e.q.Query(ctx, `SELECT id, kind, seller, buyer, asset, venue, quantity, cash, opened_height, opened_time FROM settlements
			WHERE kind = 'dvp' AND opened_height BETWEEN $1 AND $2
		UNION ALL SELECT id, kind, seller, buyer, asset, venue, quantity, cash, closed_height, closed_time FROM settlements
			WHERE kind = 'gateway' AND state = 'confirmed' AND closed_height BETWEEN $1 AND $2
		ORDER BY 9, 1`, h1, h2)
	if err != nil {
		return nil, fmt.Errorf("trades: %w", err)
	}
	defer rows.Close()
	var out []trade
	for rows.Next() {
		var t trade
		if err := rows.Scan(&t.id, &t.kind, &t.seller, &t.buyer, &t.asset, &t.venue, &t.qty, &t.cash, &t.height, &t.time); err != nil {
			return nil, fmt.Errorf("trades: %w", err)
		}
		out = append(out, t)
		if len(out) > maxLegs {
			return nil, fmt.Errorf("more than %d trades in %d..%d: %w", maxLegs, h1, h2, ErrInvalid)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("trades: %w", err)
	}
	return out, nil
}

// evalMatched pairs two distinct trades in one instrument within Δt whose sizes and prices
// agree within p, the buyer of one sharing a beneficial owner with the seller of the other.
// A pair is reported when its later trade is in the range.
func evalMatched(ctx context.Context, e *Env, p *MatchedParams, r Range) ([]Finding, error) {
	w := time.Duration(p.WindowSeconds) * time.Second
	h1, err := e.heightAtOrAfter(ctx, r.FromTime.Add(-w))
	if err != nil {
		return nil, err
	}
	shared, err := e.trades(ctx, min(h1, r.From), r.To)
	if err != nil {
		return nil, err
	}
	ts := slices.Clone(shared) // sorted below
	var addrs [][]byte
	for _, t := range ts {
		addrs = append(addrs, t.seller, t.buyer)
	}
	if err := e.loadAccounts(ctx, addrs); err != nil {
		return nil, err
	}
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].time.Before(ts[j].time) })
	// A pair needs one owner on opposite sides in one asset: index the trades by asset and
	// buyer's owner, and by asset and seller's owner, so each trade meets only its candidates
	// instead of every trade of the window.
	type side struct{ asset, owner string }
	byBuyer, bySeller := map[side][]int{}, map[side][]int{}
	var out []Finding
	var cands []int
	for j := range ts {
		b := &ts[j]
		cands = cands[:0]
		buys, sells := side{b.asset, string(e.acct(b.buyer).owner)}, side{b.asset, string(e.acct(b.seller).owner)}
		// Earlier trades whose buyer is b's seller's owner, or whose seller is b's buyer's.
		for _, list := range [][]int{byBuyer[sells], bySeller[buys]} {
			for x := len(list) - 1; x >= 0 && b.time.Sub(ts[list[x]].time) <= w; x-- {
				cands = append(cands, list[x])
			}
		}
		byBuyer[buys] = append(byBuyer[buys], j)
		bySeller[sells] = append(bySeller[sells], j)
		// Nearest first, each once, as a scan back from b would meet them.
		sort.Sort(sort.Reverse(sort.IntSlice(cands)))
		for n, i := range cands {
			if n > 0 && cands[n-1] == i {
				continue
			}
			a := &ts[i]
			if a.height < r.From && b.height < r.From {
				continue
			}
			var linked []byte
			switch {
			case string(e.acct(a.buyer).owner) == string(e.acct(b.seller).owner):
				linked = e.acct(a.buyer).owner
			case string(e.acct(a.seller).owner) == string(e.acct(b.buyer).owner):
				linked = e.acct(a.seller).owner
			default:
				continue
			}
			qa, qb := big.NewInt(a.qty), big.NewInt(b.qty)
			pa := new(big.Int).Mul(big.NewInt(a.cash), qb) // prices compared as cash·qty of the other
			pb := new(big.Int).Mul(big.NewInt(b.cash), qa)
			if !withinBP(qa, qb, p.ToleranceBP) || !withinBP(pa, pb, p.ToleranceBP) {
				continue
			}
			first, second := a, b
			if bytes.Compare(second.id, first.id) < 0 { // the order of their hex forms
				first, second = second, first
			}
			h, at := max(a.height, b.height), a.time
			if b.time.After(at) {
				at = b.time
			}
			out = append(out, Finding{
				SubjectKind: SubjectOwner, Subject: ownerHex(linked), WindowKey: hashHex(first.id) + "/" + hashHex(second.id),
				Member: e.acct(b.buyer).sponsor, Asset: a.asset, Height: h, Time: at, LastHeight: h,
				Summary: fmt.Sprintf("two trades in %s %s apart, sizes %d and %d, one owner on opposite sides", a.asset, b.time.Sub(a.time), a.qty, b.qty),
				Figures: map[string]any{"window_seconds": p.WindowSeconds, "tolerance_bp": p.ToleranceBP,
					"qty": []int64{first.qty, second.qty}, "cash": []int64{first.cash, second.cash}},
				Evidence: []Evidence{
					{Tx: hashHex(first.id), Height: first.height, Time: first.time, Note: fmt.Sprintf("%s: %s sold %d for %s to %s", first.kind, addrHex(first.seller), first.qty, coin(first.cash), addrHex(first.buyer))},
					{Tx: hashHex(second.id), Height: second.height, Time: second.time, Note: fmt.Sprintf("%s: %s sold %d for %s to %s", second.kind, addrHex(second.seller), second.qty, coin(second.cash), addrHex(second.buyer))},
				},
			})
		}
	}
	return out, nil
}
