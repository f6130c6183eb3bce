package compliance

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/store"
)

// The holding rules find their crossings in a fold of owners' totals, which knows neither the
// accounts nor the transactions behind a total. holdEvidence reads those afterwards, for the
// few block ends that tripped a rule: the fold stays as fast as it was, and every finding
// names the owner's accounts, their members and the movements that made the crossing.

// holdTrip is where a holding rule's finding tripped: an owner's holding of an asset at a
// block end.
type holdTrip struct {
	key holdKey
	pt  holdPoint
}

// maxHoldProbes bounds the holdings one query of holdEvidence reads: an owner's accounts at
// each of the pass's findings.
const maxHoldProbes = 10_000

// maxHolders bounds the accounts the block-end evidence of one finding lists.
const maxHolders = 100

// holdMove is a movement of a security in a block that tripped a holding rule: a transfer
// leg (plain, DvP asset leg, gateway delivery), a mint (from nil) or a burn (to nil).
type holdMove struct {
	height   int64
	idx      int32
	seq      int16
	hash     []byte
	kind     string
	from, to []byte
	asset    string
	amount   int64
}

// holdProbe is an account's holding of an asset at the end of a block and of the one before.
type holdProbe struct {
	account string
	asset   string
	height  int64
}

// beforeAfter is a holding at the end of the block before and of the block.
type beforeAfter struct{ before, after int64 }

// holdEvidence fills in the evidence and members of the holding rule's findings fs, each
// tripped at trips[i]: the owner's accounts holding the asset at the block end, with their
// holdings before and after, and every movement of the asset in that block touching them.
// Its queries take all the findings of the pass at once.
func (e *Env) holdEvidence(ctx context.Context, fs []Finding, trips []holdTrip, assets map[string]securityAsset) ([]Finding, error) {
	if len(fs) == 0 {
		return fs, nil
	}
	owned, err := e.tripAccounts(ctx, trips)
	if err != nil {
		return nil, err
	}
	holdings, err := e.tripHoldings(ctx, trips, owned)
	if err != nil {
		return nil, err
	}
	moves, err := e.tripMoves(ctx, trips, owned)
	if err != nil {
		return nil, err
	}
	for i := range fs {
		t := trips[i]
		accts := owned[t.key.owner]
		var mine []holdMove
		for _, m := range moves[blockAsset{t.pt.height, t.key.asset}] {
			if e.owns(t.key.owner, m.from) || e.owns(t.key.owner, m.to) {
				mine = append(mine, m)
			}
		}
		a := assets[t.key.asset]
		a.symbol = t.key.asset
		fillHoldFinding(e, &fs[i], t, a, accts, holdings, mine)
	}
	return fs, nil
}

// owns reports whether account a (nil for none) is one of owner's.
func (e *Env) owns(owner string, a []byte) bool {
	return a != nil && string(e.acct(a).owner) == owner
}

// tripAccounts returns the accounts of each owner of trips, by address.
func (e *Env) tripAccounts(ctx context.Context, trips []holdTrip) (map[string][][]byte, error) {
	var owners [][]byte
	seen := map[string]bool{}
	for _, t := range trips {
		if !seen[t.key.owner] {
			seen[t.key.owner] = true
			owners = append(owners, []byte(t.key.owner))
		}
	}
	accts, err := e.ownersAccounts(ctx, owners)
	if err != nil {
		return nil, err
	}
	out := map[string][][]byte{}
	for _, a := range accts {
		o := string(e.acct(a).owner)
		out[o] = append(out[o], a)
	}
	for _, as := range out {
		slices.SortFunc(as, bytes.Compare)
	}
	return out, nil
}

// tripHoldings reads each owner account's holding of the asset at the end of each trip's
// block and of the block before, from the balance history: one probe along its key for each.
func (e *Env) tripHoldings(ctx context.Context, trips []holdTrip, owned map[string][][]byte) (map[holdProbe]beforeAfter, error) {
	var accounts [][]byte
	var symbols []string
	var heights []int64
	seen := map[holdProbe]bool{}
	for _, t := range trips {
		for _, a := range owned[t.key.owner] {
			p := holdProbe{string(a), t.key.asset, t.pt.height}
			if !seen[p] {
				seen[p] = true
				accounts, symbols, heights = append(accounts, a), append(symbols, t.key.asset), append(heights, t.pt.height)
			}
		}
	}
	out := make(map[holdProbe]beforeAfter, len(accounts))
	for len(accounts) > 0 {
		n := min(len(accounts), maxHoldProbes)
		err := e.scan(ctx, "holdings at the findings", func(rows pgx.Rows) error {
			var a []byte
			var p holdProbe
			var x beforeAfter
			if err := rows.Scan(&a, &p.asset, &p.height, &x.before, &x.after); err != nil {
				return err
			}
			p.account = string(a)
			out[p] = x
			return nil
		}, `SELECT q.account, q.asset, q.h,
				coalesce((SELECT bc.amounts[width_bucket(q.h - 1, bc.heights)] FROM balance_chunks bc
					WHERE bc.account = q.account AND bc.asset = q.asset AND bc.height < q.h ORDER BY bc.height DESC LIMIT 1), 0),
				coalesce((SELECT bc.amounts[width_bucket(q.h, bc.heights)] FROM balance_chunks bc
					WHERE bc.account = q.account AND bc.asset = q.asset AND bc.height <= q.h ORDER BY bc.height DESC LIMIT 1), 0)
			FROM unnest($1::bytea[], $2::text[], $3::bigint[]) q(account, asset, h)`,
			accounts[:n], symbols[:n], heights[:n])
		if err != nil {
			return nil, err
		}
		accounts, symbols, heights = accounts[n:], symbols[n:], heights[n:]
	}
	return out, nil
}

// blockAsset is a block and an asset.
type blockAsset struct {
	height int64
	asset  string
}

// tripMoves reads the movements of the trips' assets in their blocks that touch an account
// of an owner of trips, in execution order, by block and asset. A movement read for one
// owner may belong to another of the same block: the caller keeps each trip's own.
func (e *Env) tripMoves(ctx context.Context, trips []holdTrip, owned map[string][][]byte) (map[blockAsset][]holdMove, error) {
	var times []time.Time
	var heights []int64
	var symbols []string
	var accounts [][]byte
	seenB, seenA, seenO := map[int64]bool{}, map[string]bool{}, map[string]bool{}
	for _, t := range trips {
		if !seenB[t.pt.height] {
			seenB[t.pt.height] = true
			times, heights = append(times, t.pt.time), append(heights, t.pt.height)
		}
		if !seenA[t.key.asset] {
			seenA[t.key.asset] = true
			symbols = append(symbols, t.key.asset)
		}
		if !seenO[t.key.owner] {
			seenO[t.key.owner] = true
			accounts = append(accounts, owned[t.key.owner]...)
		}
	}
	out := map[blockAsset][]holdMove{}
	var touched [][]byte
	err := e.scan(ctx, "movements at the findings", func(rows pgx.Rows) error {
		var m holdMove
		if err := rows.Scan(&m.height, &m.idx, &m.seq, &m.hash, &m.kind, &m.from, &m.to, &m.asset, &m.amount); err != nil {
			return err
		}
		k := blockAsset{m.height, m.asset}
		out[k] = append(out[k], m)
		touched = append(touched, m.from, m.to)
		if len(touched) > 2*maxLegs {
			return fmt.Errorf("more than %d movements: evaluate fewer blocks: %w", maxLegs, ErrInvalid)
		}
		return nil
	}, `SELECT m.height, m.tx_idx, m.seq, m.tx_hash, m.leg, m.from_addr, m.to_addr, m.asset, m.amount
		FROM unnest($1::timestamptz[], $2::bigint[]) b(t, h) CROSS JOIN LATERAL (
			SELECT l.height, l.tx_idx, l.seq, l.tx_hash, l.leg, l.from_addr, l.to_addr, l.asset, l.amount FROM transfer_legs l
				WHERE l.block_time = b.t AND l.height = b.h AND l.asset = ANY($3) AND (l.from_addr = ANY($4) OR l.to_addr = ANY($4))
			UNION ALL
			SELECT t.height, t.idx, -1::smallint, t.hash, t.type,
					CASE WHEN t.type = 'burn' THEN t.signer END, CASE WHEN t.type = 'mint' THEN t.counterparty END, t.asset, t.amount
				FROM transactions t
				WHERE t.block_time = b.t AND t.height = b.h AND t.type IN ('mint', 'burn') AND t.code = 0 AND t.asset = ANY($3)
					AND CASE WHEN t.type = 'burn' THEN t.signer ELSE t.counterparty END = ANY($4)) m
		ORDER BY m.height, m.tx_idx, m.seq`,
		times, heights, symbols, accounts)
	if err != nil {
		return nil, err
	}
	// The other side of a movement is named with its member too.
	if err := e.loadAccounts(ctx, touched); err != nil {
		return nil, err
	}
	return out, nil
}

// fillHoldFinding sets f's evidence and members from the trip's block: moves (the owner's
// movements of the asset in it, in execution order), then the block end with the owner's
// accounts holding the asset. Member is the sponsor of the owner's account in the first
// movement (its payer's side when both are the owner's); Members those of every owner account
// whose holding the block changed. A block that neither moved nor changed the owner's
// holdings (its share moved with the supply alone) names the members of its holding accounts.
func fillHoldFinding(e *Env, f *Finding, t holdTrip, a securityAsset, accts [][]byte, holdings map[holdProbe]beforeAfter, moves []holdMove) {
	holders, changed := tripHolders(e, t, accts, holdings, moves)
	var members []string
	for _, h := range holders {
		if changed[h.Address] || (len(changed) == 0 && len(moves) == 0) {
			members = append(members, h.Member)
		}
	}
	f.Members = store.UnionMembers(members)
	switch {
	case len(moves) > 0 && e.owns(t.key.owner, moves[0].from):
		f.Member = e.acct(moves[0].from).sponsor
	case len(moves) > 0:
		f.Member = e.acct(moves[0].to).sponsor
	case len(f.Members) > 0:
		f.Member = f.Members[0]
	}
	listed := moves
	if len(listed) > maxEvidence-1 {
		listed = listed[:maxEvidence-1]
	}
	f.Evidence = make([]Evidence, 0, len(listed)+1)
	for _, m := range listed {
		f.Evidence = append(f.Evidence, moveEvidence(e, m, t, a))
	}
	before := holdUnits(t.pt.before, a.decimals)
	if t.pt.prevSupply != t.pt.supply {
		before += " of supply " + holdUnits(t.pt.prevSupply, a.decimals)
	}
	note := fmt.Sprintf("owner's holding %s of supply %s (%s) at the end of block %d, from %s (%s) at the end of block %d",
		unitsText(t.pt.after, a), holdUnits(t.pt.supply, a.decimals), bpPercent(shareBP(t.pt.after, t.pt.supply)), t.pt.height,
		before, bpPercent(shareBP(t.pt.before, t.pt.prevSupply)), t.pt.height-1)
	if len(listed) < len(moves) {
		note += fmt.Sprintf("; the first %d of its %d movements in the block are listed", len(listed), len(moves))
	}
	if len(holders) > maxHolders {
		note += fmt.Sprintf("; %d of its %d accounts holding the asset are listed", maxHolders, len(holders))
		holders = holders[:maxHolders]
	}
	f.Evidence = append(f.Evidence, Evidence{Height: t.pt.height, Time: t.pt.time, Note: note, Accounts: holders})
}

// tripHolders returns the owner's accounts holding the asset at the end of the trip's block
// or of the one before, with their holdings: those the movements touched, in the order of
// their first movement, then the others by holding, the largest first. changed holds the
// addresses (hex) of those whose holding the block changed.
func tripHolders(e *Env, t holdTrip, accts [][]byte, holdings map[holdProbe]beforeAfter, moves []holdMove) ([]EvidenceAccount, map[string]bool) {
	first := map[string]int{}
	for _, m := range moves {
		for _, a := range [][]byte{m.from, m.to} {
			if _, ok := first[string(a)]; !ok && e.owns(t.key.owner, a) {
				first[string(a)] = len(first)
			}
		}
	}
	type holder struct {
		EvidenceAccount
		rank int // its first movement's, or len(first) for none
	}
	var hs []holder
	changed := map[string]bool{}
	for _, a := range accts {
		x := holdings[holdProbe{string(a), t.key.asset, t.pt.height}]
		if x.before == 0 && x.after == 0 {
			continue
		}
		h := holder{EvidenceAccount{Address: addrHex(a), Member: e.acct(a).sponsor, Role: "holder", Asset: t.key.asset,
			Before: &x.before, After: &x.after}, len(first)}
		if i, ok := first[string(a)]; ok {
			h.rank = i
		}
		if x.before != x.after {
			changed[h.Address] = true
		}
		hs = append(hs, h)
	}
	slices.SortStableFunc(hs, func(x, y holder) int {
		if x.rank != y.rank {
			return x.rank - y.rank
		}
		return cmp.Compare(*y.After, *x.After) // accts are by address: ties stay so
	})
	out := make([]EvidenceAccount, len(hs))
	for i := range hs {
		out[i] = hs[i].EvidenceAccount
	}
	return out, changed
}

// moveEvidence is one movement of the trip's asset, with both sides and their members.
func moveEvidence(e *Env, m holdMove, t holdTrip, a securityAsset) Evidence {
	amount := m.amount
	ev := Evidence{Tx: hashHex(m.hash), Height: m.height, Time: t.pt.time}
	side := func(addr []byte, role string) {
		ev.Accounts = append(ev.Accounts, EvidenceAccount{Address: addrHex(addr), Member: e.acct(addr).sponsor, Role: role,
			Asset: m.asset, Amount: &amount})
	}
	what := moveKindText(m.kind)
	switch {
	case m.from == nil:
		ev.Note = fmt.Sprintf("%s of %s to %s", what, unitsText(m.amount, a), addrHex(m.to))
		side(m.to, "to")
	case m.to == nil:
		ev.Note = fmt.Sprintf("%s of %s from %s", what, unitsText(m.amount, a), addrHex(m.from))
		side(m.from, "from")
	default:
		ev.Note = fmt.Sprintf("%s of %s from %s to %s", what, unitsText(m.amount, a), addrHex(m.from), addrHex(m.to))
		side(m.from, "from")
		side(m.to, "to")
	}
	return ev
}

// moveKindText names a movement for people.
func moveKindText(kind string) string {
	switch kind {
	case "asset":
		return "DvP delivery"
	case "settlement":
		return "gateway settlement delivery"
	default:
		return kind // transfer, mint, burn
	}
}

// holdUnits is an amount of a security in its units, with its thousands grouped, as people
// read it: "52,000", "1,250.500". From the integer; negative amounts (a fall) keep their sign.
func holdUnits(v int64, decimals uint8) string {
	sign := ""
	u := uint64(v)
	if v < 0 {
		sign, u = "-", uint64(-v)
	}
	s := ledger.FormatAmount(u, decimals)
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	b.WriteString(sign)
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		b.WriteString("." + frac)
	}
	return b.String()
}

// unitsText is an amount of a security with its symbol: "52,000 600950".
func unitsText(v int64, a securityAsset) string { return holdUnits(v, a.decimals) + " " + a.symbol }

// bpPercent is a share in basis points as a percentage with two decimals: "5.20%".
func bpPercent(bp int64) string {
	sign := ""
	if bp < 0 {
		sign, bp = "-", -bp
	}
	return fmt.Sprintf("%s%d.%02d%%", sign, bp/100, bp%100)
}

// stepPercent is a threshold in basis points as the shortest percentage: "5%", "2.5%".
func stepPercent(bp int64) string {
	s := fmt.Sprintf("%d.%02d", bp/100, bp%100)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + "%"
}
