package compliance

import (
	"github.com/ledgerscope/ledgerscope/ledger"
)

// refWatchList is an uploaded watch list: its version and its entries with their reasons.
type refWatchList struct {
	version int
	addrs   map[ledger.Address]string
	owners  map[ledger.Hash]string
}

// refCounterparty is the account a transaction's body names beside its signer (as FROZEN
// reads it: a transfer's or mint's recipient, a DvP's or lock's buyer, the account frozen or
// registered), and for a confirmation or failure, which names a settlement, that
// settlement's buyer when the ledger executed it.
func refCounterparty(t *refTx) (ledger.Address, bool) {
	switch b := t.tx.Body.(type) {
	case *ledger.RegisterAccount:
		return ledger.AddressOf(b.PubKey), true
	case *ledger.Mint:
		return b.To, true
	case *ledger.Transfer:
		return b.To, true
	case *ledger.SettleDvP:
		return b.Buyer, true
	case *ledger.LockForSettlement:
		return b.Buyer, true
	case *ledger.Freeze:
		return b.Account, b.Asset == ""
	case *ledger.Unfreeze:
		return b.Account, b.Asset == ""
	case *ledger.ConfirmPayment, *ledger.FailSettlement:
		for _, ev := range t.events {
			if e, ok := ev.(*ledger.SettlementEvent); ok {
				return e.Buyer, true
			}
		}
	}
	return ledger.Address{}, false
}

// refWatch is WATCH: every transaction, failed ones included, whose signer, counterparty or
// a transfer leg is an address on the list or an account of an owner on it; one violation
// per party and transaction. The regulator's freeze or unfreeze of a listed account is not
// that account's activity.
func (l *refLedger) refWatch(w *refWatchList) []refFinding {
	if w == nil {
		return nil
	}
	reason := func(a ledger.Address) (string, bool) {
		if r, ok := w.addrs[a]; ok {
			return r, true
		}
		acc, ok := l.accounts[a]
		if !ok {
			return "", false
		}
		r, ok := w.owners[acc.owner]
		return r, ok
	}
	var out []refFinding
	for i := range l.txs {
		t := &l.txs[i]
		parties := []ledger.Address{t.tx.Signer()}
		if c, ok := refCounterparty(t); ok {
			switch t.tx.Body.(type) {
			case *ledger.Freeze, *ledger.Unfreeze:
				if c != t.tx.Signer() {
					break // acted on, not acting
				}
				parties = append(parties, c)
			default:
				parties = append(parties, c)
			}
		}
		for _, ev := range t.events {
			if e, ok := ev.(*ledger.TransferEvent); ok {
				parties = append(parties, e.From, e.To)
			}
		}
		seen := map[ledger.Address]bool{}
		for _, p := range parties {
			r, ok := reason(p)
			if !ok || seen[p] {
				continue
			}
			seen[p] = true
			sponsor := l.accounts[p].sponsor
			out = append(out, refFinding{Rule: RuleWatch, Subject: refAddr(p), WindowKey: t.hash, Severity: "critical",
				Height: t.height, Member: sponsor, Members: []string{sponsor},
				Figures: refFigures(map[string]any{"watchlist_version": w.version, "reason": r, "code": int32(t.code)})})
		}
	}
	return out
}

// addGenesis adds the accounts genesis opens, which no block registers: each member
// operator's, an institution sponsored by its member and owned by it.
func (l *refLedger) addGenesis(g *ledger.GenesisState) {
	for _, m := range g.Members {
		l.accounts[ledger.AddressOf(m.Operator)] = refAccount{sponsor: m.ID, kind: ledger.KindInstitution, owner: ledger.MemberOwnerRef(m.ID)}
	}
}
