package compliance

import (
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/node"
)

// The reference implementation: each rule read straight from its text in docs/rules.md,
// over the ledger's own record of every block (its transactions, their codes and their
// events), at the rules' default parameters. It is plain and slow on purpose: every window
// is recomputed from the whole history at every event, nothing is carried from one block to
// the next but the history itself, and nothing is bounded. The differential test compares
// it with what compliance.Runner writes.

// refFinding is one violation as the reference sees it: the fields a reviewer reads.
type refFinding struct {
	Rule, Subject, WindowKey, Severity string
	Height                             int64
	// Member is the member that sponsors the subject account, or for an owner the account
	// whose transfer opened the window; "-" when not compared.
	Member string
	// Members is every member sponsoring an account of the subject that took part; nil
	// when not compared.
	Members []string
	// Figures are those the reference derives from the definition, JSON-normalised.
	Figures map[string]any
}

// refTx is one executed transaction with what the ledger said of it.
type refTx struct {
	height int64
	idx    int
	time   time.Time
	hash   string
	tx     *ledger.DecodedTx
	code   ledger.Code
	log    string
	events []ledger.Event
}

// refAccount is an account as the ledger registered it.
type refAccount struct {
	sponsor string
	kind    ledger.AccountKind
	owner   ledger.Hash
}

// refLedger is the whole history, decoded.
type refLedger struct {
	txs      []refTx
	blocks   []*node.CommittedBlock
	accounts map[ledger.Address]refAccount
}

// newRefLedger decodes the committed blocks.
func newRefLedger(blocks []*node.CommittedBlock) (*refLedger, error) {
	l := &refLedger{blocks: blocks, accounts: map[ledger.Address]refAccount{}}
	for _, b := range blocks {
		for i, raw := range b.Txs {
			dtx, err := ledger.DecodeTx(raw)
			if err != nil {
				return nil, err
			}
			r := b.TxResults[i]
			t := refTx{height: b.Height, idx: i, time: b.Time, hash: ledger.TxHash(raw).String(), tx: dtx,
				code: ledger.Code(r.Code), log: r.Log}
			if t.code == ledger.CodeOK {
				if t.events, err = ledger.TxEvents(r); err != nil {
					return nil, err
				}
			}
			for _, ev := range t.events {
				if e, ok := ev.(*ledger.AccountEvent); ok {
					l.accounts[e.Address] = refAccount{sponsor: e.Sponsor, kind: e.Kind, owner: e.OwnerRef}
				}
			}
			l.txs = append(l.txs, t)
		}
	}
	return l, nil
}

func refAddr(a ledger.Address) string { return addrHex(a[:]) }
func refOwner(h ledger.Hash) string   { return ownerHex(h[:]) }

// refFigures normalises figures as the violations table stores them.
func refFigures(m map[string]any) map[string]any {
	raw, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

// refCoinMove is a movement of the settlement coin: a transfer or cash leg, or a mint.
type refCoinMove struct {
	tx       *refTx
	from, to *ledger.Address
	amount   int64
	kind     string
}

// coinMoves lists every coin movement of the history, in execution order.
func (l *refLedger) coinMoves() []refCoinMove {
	var out []refCoinMove
	for i := range l.txs {
		t := &l.txs[i]
		for _, ev := range t.events {
			switch e := ev.(type) {
			case *ledger.TransferEvent:
				if e.Asset == ledger.CoinSymbol {
					out = append(out, refCoinMove{tx: t, from: &e.From, to: &e.To, amount: int64(e.Amount), kind: e.Leg})
				}
			case *ledger.MintEvent:
				if e.Asset == ledger.CoinSymbol {
					out = append(out, refCoinMove{tx: t, to: &e.To, amount: int64(e.Amount), kind: "mint"})
				}
			case *ledger.BurnEvent:
				if e.Asset == ledger.CoinSymbol {
					out = append(out, refCoinMove{tx: t, from: &e.From, amount: int64(e.Amount), kind: "burn"})
				}
			}
		}
	}
	return out
}

// refLV is LV-INST (inst) or LV-IND: per account of the kind and Shanghai day, the sum of
// its coin movements at their absolute amounts; the movement that takes it to the
// threshold or above is reported.
func (l *refLedger) refLV(inst bool) []refFinding {
	rule, threshold := RuleLVInd, int64(defaultLVIndividual)
	if inst {
		rule, threshold = RuleLVInst, defaultLVInstitution
	}
	var out []refFinding
	moves := l.coinMoves()
	for i, m := range moves {
		for _, a := range []*ledger.Address{m.from, m.to} {
			if a == nil || (l.accounts[*a].kind == ledger.KindInstitution) != inst {
				continue
			}
			day := marketDay(m.tx.time)
			var sum, count int64
			for _, p := range moves[:i+1] {
				if marketDay(p.tx.time) == day && ((p.from != nil && *p.from == *a) || (p.to != nil && *p.to == *a)) {
					sum += p.amount
					count++
				}
			}
			if sum >= threshold && sum-m.amount < threshold {
				out = append(out, refFinding{Rule: rule, Subject: refAddr(*a), WindowKey: day, Severity: "medium",
					Height: m.tx.height, Member: l.accounts[*a].sponsor, Members: []string{l.accounts[*a].sponsor},
					Figures: refFigures(map[string]any{"day": day, "sum": sum, "threshold": threshold, "movements": count})})
			}
		}
	}
	return out
}

// refStruct is STRUCT: per owner and threshold T, at each coin transfer from its accounts in
// [0.9·T, T), those in the window strictly after t−5 days: at least 3, together at least T.
// The window is keyed by its first transfer; a later transfer in it extends the violation.
func (l *refLedger) refStruct() []refFinding {
	const window = 5 * 86400 * time.Second
	byKey := map[string]int{}
	var out []refFinding
	moves := l.coinMoves()
	for i, m := range moves {
		if m.from == nil || m.to == nil {
			continue
		}
		owner := l.accounts[*m.from].owner
		for _, t := range []int64{defaultLVIndividual, defaultLVInstitution} {
			if !(m.amount < t && m.amount*10 >= t*9) {
				continue
			}
			var win []refCoinMove
			var sum int64
			for _, p := range moves[:i+1] {
				if p.from != nil && p.to != nil && l.accounts[*p.from].owner == owner && p.amount < t && p.amount*10 >= t*9 &&
					p.tx.time.After(m.tx.time.Add(-window)) {
					win = append(win, p)
					sum += p.amount
				}
			}
			if len(win) < 3 || sum < t {
				continue
			}
			members := map[string]bool{}
			for _, p := range win {
				members[l.accounts[*p.from].sponsor] = true
			}
			f := refFinding{Rule: RuleStruct, Subject: refOwner(owner), WindowKey: fmt.Sprintf("T%d:%s", t, win[0].tx.hash),
				Severity: "high", Height: m.tx.height, Member: l.accounts[*win[0].from].sponsor, Members: sortedStrings(members),
				Figures: refFigures(map[string]any{"count": len(win), "sum": sum, "threshold": t, "ratio_bp": 9000, "window_seconds": 432000})}
			if j, ok := byKey[f.WindowKey]; ok {
				f.Height = out[j].Height
				f.Members = unionStrings(out[j].Members, f.Members)
				out[j] = f
				continue
			}
			byKey[f.WindowKey] = len(out)
			out = append(out, f)
		}
	}
	return out
}

// unionStrings is the sorted union of two sets.
func unionStrings(a, b []string) []string {
	m := map[string]bool{}
	for _, s := range append(append([]string(nil), a...), b...) {
		m[s] = true
	}
	return sortedStrings(m)
}

// coinBalanceAfterBlock is an account's coin balance at the end of block h.
func (l *refLedger) coinBalanceAfterBlock(a ledger.Address, h int64) int64 {
	var bal int64
	for i := range l.txs {
		if l.txs[i].height > h {
			break
		}
		for _, ev := range l.txs[i].events {
			if e, ok := ev.(*ledger.BalanceEvent); ok && e.Account == a && e.Asset == ledger.CoinSymbol {
				bal = int64(e.Amount)
			}
		}
	}
	return bal
}

// refRapid is RAPID: at each coin debit, over the account's coin events at or after
// t−1h up to the debit, per receipt (the debits after some credit reach 90% of it) or as a
// sliding window (the window's debits reach 90% of its credits); either counts only if the
// account holds at most 10% of what that reading received after the debit's block.
func (l *refLedger) refRapid() []refFinding {
	const w = time.Hour
	var out []refFinding
	done := map[string]bool{}
	moves := l.coinMoves()
	for i, m := range moves {
		if m.from == nil {
			continue
		}
		a := *m.from
		if done[refAddr(a)+m.tx.hash] {
			continue
		}
		type ev struct{ amt int64 }
		var win []ev
		for _, p := range moves[:i+1] {
			if p.tx.time.Before(m.tx.time.Add(-w)) {
				continue
			}
			if p.to != nil && *p.to == a {
				win = append(win, ev{p.amount})
			}
			if p.from != nil && *p.from == a {
				win = append(win, ev{-p.amount})
			}
		}
		bal := l.coinBalanceAfterBlock(a, m.tx.height)
		var fig map[string]any
		for j, c := range win {
			if c.amt <= 0 {
				continue
			}
			var after int64
			for _, d := range win[j+1:] {
				if d.amt < 0 {
					after -= d.amt
				}
			}
			if after*100 >= c.amt*90 && bal*100 <= c.amt*10 {
				fig = map[string]any{"received": c.amt, "sent_after": after, "reading": "per_receipt"}
				break
			}
		}
		if fig == nil {
			var in, sent int64
			for _, c := range win {
				if c.amt > 0 {
					in += c.amt
				} else {
					sent -= c.amt
				}
			}
			if in > 0 && sent*100 >= in*90 && bal*100 <= in*10 {
				fig = map[string]any{"received": in, "sent": sent, "reading": "window"}
			}
		}
		if fig == nil {
			continue
		}
		done[refAddr(a)+m.tx.hash] = true
		fig["share_pct"], fig["window_seconds"], fig["left_pct"], fig["balance_left"] = 90, 3600, 10, bal
		out = append(out, refFinding{Rule: RuleRapid, Subject: refAddr(a), WindowKey: m.tx.hash, Severity: "medium",
			Height: m.tx.height, Member: l.accounts[a].sponsor, Members: []string{l.accounts[a].sponsor}, Figures: refFigures(fig)})
	}
	return out
}

// refSelf is SELF: a transaction with a transfer leg between two accounts of one owner,
// once per transaction and owner; the figures are its first such leg's.
func (l *refLedger) refSelf() []refFinding {
	var out []refFinding
	for i := range l.txs {
		t := &l.txs[i]
		seen := map[ledger.Hash]int{}
		for _, ev := range t.events {
			e, ok := ev.(*ledger.TransferEvent)
			if !ok || l.accounts[e.From].owner != l.accounts[e.To].owner {
				continue
			}
			owner := l.accounts[e.From].owner
			if j, ok := seen[owner]; ok {
				out[j].Members = unionStrings(out[j].Members, []string{l.accounts[e.From].sponsor, l.accounts[e.To].sponsor})
				continue
			}
			seen[owner] = len(out)
			out = append(out, refFinding{Rule: RuleSelf, Subject: refOwner(owner), WindowKey: t.hash, Severity: "high",
				Height: t.height, Member: l.accounts[e.From].sponsor,
				Members: unionStrings(nil, []string{l.accounts[e.From].sponsor, l.accounts[e.To].sponsor}),
				Figures: refFigures(map[string]any{"from": refAddr(e.From), "to": refAddr(e.To), "amount": e.Amount, "asset": e.Asset})})
		}
	}
	return out
}

// refFrozenReason is how the ledger names a frozen party in an account_frozen refusal.
var refFrozenReason = regexp.MustCompile(`([0-9a-f]{40}) is frozen`)

// refFrozen is FROZEN: a transaction refused with signer_frozen (subject the signer) or
// account_frozen (subject each account it names that the regulator's freezes and unfreezes
// before it leave frozen).
func (l *refLedger) refFrozen() []refFinding {
	frozen := map[ledger.Address]bool{}
	var out []refFinding
	add := func(t *refTx, a ledger.Address) {
		out = append(out, refFinding{Rule: RuleFrozen, Subject: refAddr(a), WindowKey: t.hash, Severity: "high",
			Height: t.height, Member: l.accounts[a].sponsor, Members: []string{l.accounts[a].sponsor},
			Figures: refFigures(map[string]any{"code": int32(t.code)})})
	}
	for i := range l.txs {
		t := &l.txs[i]
		switch t.code {
		case ledger.CodeSignerFrozen:
			add(t, t.tx.Signer())
		case ledger.CodeAccountFrozen:
			var named []ledger.Address
			switch b := t.tx.Body.(type) {
			case *ledger.Transfer:
				named = []ledger.Address{b.To}
			case *ledger.SettleDvP:
				named = []ledger.Address{b.Seller, b.Buyer}
			case *ledger.Mint:
				named = []ledger.Address{b.To}
			case *ledger.LockForSettlement:
				named = []ledger.Address{b.Buyer}
			case *ledger.ConfirmPayment:
				// It names only a settlement: the ledger's reason names the party.
				if m := refFrozenReason.FindStringSubmatch(t.log); m != nil {
					a, err := ledger.ParseAddress(m[1])
					if err != nil {
						panic(err)
					}
					named = []ledger.Address{a}
				}
			}
			for _, a := range named {
				if frozen[a] {
					add(t, a)
				}
			}
		}
		for _, ev := range t.events {
			if e, ok := ev.(*ledger.FreezeEvent); ok && e.Asset == "" {
				frozen[e.Account] = e.Frozen
			}
		}
	}
	return out
}

// refHoldings is, at each block end, every owner's holding of every security and the
// security's supply.
type refHoldPoint struct {
	height          int64
	holding, supply int64
}

// holdSeries returns, per owner and security, its holding and the supply at every block
// end from the block the security was issued.
func (l *refLedger) holdSeries() (map[[2]string][]refHoldPoint, []string) {
	securities := map[string]bool{}
	supply := map[string]int64{}
	bal := map[ledger.Address]map[string]int64{}
	out := map[[2]string][]refHoldPoint{}
	var keys []string
	owners := map[ledger.Hash]bool{}
	j := 0
	for _, b := range l.blocks {
		for ; j < len(l.txs) && l.txs[j].height == b.Height; j++ {
			for _, ev := range l.txs[j].events {
				switch e := ev.(type) {
				case *ledger.AssetEvent:
					if e.Asset.Class == ledger.ClassSecurity {
						securities[e.Asset.Symbol] = true
						supply[e.Asset.Symbol] = int64(e.Asset.Supply)
					}
				case *ledger.MintEvent:
					supply[e.Asset] = int64(e.Supply)
				case *ledger.BurnEvent:
					supply[e.Asset] = int64(e.Supply)
				case *ledger.BalanceEvent:
					if bal[e.Account] == nil {
						bal[e.Account] = map[string]int64{}
					}
					bal[e.Account][e.Asset] = int64(e.Amount)
					owners[l.accounts[e.Account].owner] = true
				}
			}
		}
		for o := range owners {
			for s := range securities {
				var h int64
				for a, m := range bal {
					if l.accounts[a].owner == o {
						h += m[s]
					}
				}
				k := [2]string{refOwner(o), s}
				if _, ok := out[k]; !ok {
					keys = append(keys, k[0]+"|"+k[1])
				}
				out[k] = append(out[k], refHoldPoint{b.Height, h, supply[s]})
			}
		}
	}
	return out, keys
}

// refSteps is floor(holding / (supply · bp / 10000)); 0 for no supply.
func refSteps(holding, supply, bp int64) int64 {
	if supply <= 0 || holding <= 0 {
		return 0
	}
	n := new(big.Int).Mul(big.NewInt(holding), big.NewInt(10_000))
	return n.Quo(n, new(big.Int).Mul(big.NewInt(supply), big.NewInt(bp))).Int64()
}

// refHoldMembers names the members of an owner's finding about a security at block h: the
// member is the sponsor of the owner's account in the block's first movement of the security
// touching its accounts (the payer when both sides are its); the members are that one and the
// sponsors of its accounts whose holding the block changed. A block that changed neither (the
// supply alone moved the share) names the sponsors of its accounts holding the security, the
// member the first of them.
func (l *refLedger) refHoldMembers(owner, asset string, h int64) (string, []string) {
	mine := func(a *ledger.Address) bool { return a != nil && refOwner(l.accounts[*a].owner) == owner }
	before, after := map[ledger.Address]int64{}, map[ledger.Address]int64{}
	member := ""
	first := func(from, to *ledger.Address) {
		switch {
		case member != "":
		case mine(from):
			member = l.accounts[*from].sponsor
		case mine(to):
			member = l.accounts[*to].sponsor
		}
	}
	for i := range l.txs {
		t := &l.txs[i]
		if t.height > h {
			break
		}
		for _, ev := range t.events {
			switch e := ev.(type) {
			case *ledger.BalanceEvent:
				if e.Asset == asset && mine(&e.Account) {
					after[e.Account] = int64(e.Amount)
					if t.height < h {
						before[e.Account] = int64(e.Amount)
					}
				}
			case *ledger.TransferEvent:
				if t.height == h && e.Asset == asset {
					first(&e.From, &e.To)
				}
			case *ledger.MintEvent:
				if t.height == h && e.Asset == asset {
					first(nil, &e.To)
				}
			case *ledger.BurnEvent:
				if t.height == h && e.Asset == asset {
					first(&e.From, nil)
				}
			}
		}
	}
	members := map[string]bool{}
	for a, v := range after {
		if before[a] != v {
			members[l.accounts[a].sponsor] = true
		}
	}
	if member == "" && len(members) == 0 {
		for a, v := range after {
			if v != 0 || before[a] != 0 {
				members[l.accounts[a].sponsor] = true
			}
		}
		if ms := sortedStrings(members); len(ms) > 0 {
			member = ms[0]
		}
	}
	if member != "" {
		members[member] = true
	}
	return member, sortedStrings(members)
}

// refHold5 is HOLD-5: a change of floor(holding / (5%·supply)) between two block ends,
// either side at least 1.
func (l *refLedger) refHold5() []refFinding {
	series, _ := l.holdSeries()
	var out []refFinding
	for k, pts := range series {
		var before refHoldPoint // nothing held before the owner's first block
		for _, pt := range pts {
			prev, now := refSteps(before.holding, before.supply, 500), refSteps(pt.holding, pt.supply, 500)
			if prev != now && max(prev, now) >= 1 {
				member, members := l.refHoldMembers(k[0], k[1], pt.height)
				out = append(out, refFinding{Rule: RuleHold5, Subject: k[0], WindowKey: fmt.Sprintf("%s:%d", k[1], pt.height),
					Severity: "high", Height: pt.height, Member: member, Members: members,
					Figures: refFigures(map[string]any{"steps_before": prev, "steps_after": now, "holding": pt.holding,
						"holding_before": before.holding, "supply": pt.supply})})
			}
			before = pt
		}
	}
	return out
}

// refHold1 is HOLD-1: once an owner's holding first reaches 5% at a block end it is the
// base; a later block end at or above 5% that differs from the base by at least 1% of supply
// is a violation and the new base.
func (l *refLedger) refHold1() []refFinding {
	series, _ := l.holdSeries()
	var out []refFinding
	for k, pts := range series {
		var base int64
		have := false
		for i, pt := range pts {
			if refSteps(pt.holding, pt.supply, 500) < 1 {
				continue
			}
			if !have {
				base, have = pt.holding, true
				continue
			}
			d := pt.holding - base
			if d < 0 {
				d = -d
			}
			if refSteps(d, pt.supply, 100) < 1 {
				continue
			}
			before := int64(0)
			if i > 0 {
				before = pts[i-1].holding
			}
			member, members := l.refHoldMembers(k[0], k[1], pt.height)
			out = append(out, refFinding{Rule: RuleHold1, Subject: k[0], WindowKey: fmt.Sprintf("%s:%d", k[1], pt.height),
				Severity: "medium", Height: pt.height, Member: member, Members: members,
				Figures: refFigures(map[string]any{"base": base, "holding": pt.holding, "holding_before": before, "supply": pt.supply})})
			base = pt.holding
		}
	}
	return out
}

// reference returns every finding of the rules the reference covers but WATCH, which also
// reads the uploaded list (refWatch).
func (l *refLedger) reference() []refFinding {
	var out []refFinding
	for _, fs := range [][]refFinding{l.refLV(true), l.refLV(false), l.refStruct(), l.refRapid(), l.refSelf(),
		l.refFrozen(), l.refHold5(), l.refHold1(), l.refPosLim(), l.refMatched(), l.refSettleFail(), l.refDvPAtom(),
		l.refReserve(), l.refAttestAge(), l.refSession()} {
		out = append(out, fs...)
	}
	return out
}

// referenceRules are the rules the reference covers.
var referenceRules = []string{RuleLVInst, RuleLVInd, RuleStruct, RuleRapid, RuleSelf, RuleFrozen, RuleHold5, RuleHold1,
	RulePosLim, RuleMatched, RuleWatch, RuleSettleFail, RuleDvPAtom, RuleReserve, RuleAttestAge, RuleSession}
