package compliance

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

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

// evalSelf reports each transaction with a leg between two accounts of one owner, once per
// transaction and owner, with each such leg as evidence.
func evalSelf(ctx context.Context, e *Env, _ *NoParams, r Range) ([]Finding, error) {
	self, err := e.selfLegs(ctx, r)
	if err != nil {
		return nil, err
	}
	addrs := make([][]byte, 0, 2*len(self))
	assets := make([]string, 0, len(self))
	for _, l := range self {
		addrs = append(addrs, l.from, l.to)
		assets = append(assets, l.asset)
	}
	if err := e.loadAccounts(ctx, addrs); err != nil {
		return nil, err
	}
	if err := e.loadDecimals(ctx, assets); err != nil {
		return nil, err
	}
	byTx := map[string]int{}
	var out []Finding
	for _, l := range self {
		from := e.acct(l.from)
		ev := Evidence{Tx: hashHex(l.hash), Height: l.height, Time: l.time,
			Note: fmt.Sprintf("%s leg: %s from %s to %s, both accounts of one beneficial owner",
				legText(l.kind), e.amount(l.amount, l.asset), addrHex(l.from), addrHex(l.to)),
			Accounts: []EvidenceAccount{e.mover(l.from, "from", l.asset, l.amount), e.mover(l.to, "to", l.asset, l.amount)}}
		key := string(l.hash) + string(from.owner)
		to := e.acct(l.to)
		if i, ok := byTx[key]; ok {
			out[i].Evidence = append(out[i].Evidence, ev)
			out[i].Members = append(out[i].Members, from.sponsor, to.sponsor)
			continue
		}
		byTx[key] = len(out)
		out = append(out, Finding{
			SubjectKind: SubjectOwner, Subject: ownerHex(from.owner), WindowKey: hashHex(l.hash), Member: from.sponsor,
			Members: []string{from.sponsor, to.sponsor},
			Asset:   l.asset, Height: l.height, Time: l.time, LastHeight: l.height,
			Summary:  fmt.Sprintf("%s of %s between two accounts of one beneficial owner", legText(l.kind), e.amount(l.amount, l.asset)),
			Figures:  map[string]any{"from": addrHex(l.from), "to": addrHex(l.to), "amount": l.amount, "asset": l.asset},
			Evidence: []Evidence{ev},
		})
	}
	return out, nil
}

// legText is a transfer leg's kind in words.
func legText(kind string) string {
	switch kind {
	case "asset":
		return "DvP asset leg"
	case "cash":
		return "DvP cash leg"
	case "settlement":
		return "gateway settlement delivery"
	}
	return kind
}
