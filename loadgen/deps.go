package loadgen

import (
	"math"
	"sync/atomic"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// Causal order across signers.
//
// A signer's own transactions execute in nonce order, but transactions of different signers
// reach a block proposer by different gossip paths, so it may put a transaction before the
// one of another signer whose effects it needs: a mint before the recipient's registration, a
// confirmation before its lock, a payment before its funding. So the generator records, for
// every transaction, the transactions of other signers it needs (its prerequisites), and Run
// submits it only once they are in a block: a prerequisite (signer, nonce) is in a block once
// the signer's committed nonce reaches its nonce (a failed transaction spends its nonce too).
//
// The prerequisites follow from what the ledger checks (ledger/exec.go): every account a
// transaction names, as signer, co-signer, recipient, party or holder, must exist and be
// active, so the transaction needs the account's registration and its last freeze or
// unfreeze; a debit or a lock of an account's asset needs the recent credits of that asset to
// the account (mints, transfers, DvP legs, confirmed settlements, failed settlements' releases);
// a confirmation or failure of a gateway settlement needs its lock; a freeze needs the recent
// transactions naming the account, which it would otherwise make fail. An asset's issue, the
// reserve attestation before a mint and the operators' own balances need nothing more: their
// signer is the one that uses them, and its nonces keep the order.

// txRef stands for a generated transaction in the prerequisites of later ones, and for its
// resubmission should the node refuse it.
type txRef struct {
	signer ledger.Address
	at     int64 // generation time, unix seconds
	// nonce is the transaction's nonce; refAwaiting while a resubmission is due, whose nonce
	// is not known yet; refNever when no resubmission will come.
	nonce atomic.Uint64
}

const (
	refAwaiting = 0
	refNever    = math.MaxUint64
)

// set records the nonce of the transaction r stands for, or refAwaiting or refNever. A nil r
// (a transaction applied to the model alone, by Restore) stands for nothing.
func (r *txRef) set(nonce uint64) {
	if r != nil {
		r.nonce.Store(nonce)
	}
}

// Bounds of the causal bookkeeping.
const (
	// depHorizon is how long, in seconds of generation time, a transaction stays a
	// prerequisite: one not in a block by then is lost or its chain stalled, and Run's hold
	// would have given up on it anyway (RunConfig.MaxHold).
	depHorizon = 300
	// maxDepsPerAccount bounds the recent transactions kept per account, as credits and as
	// touches each; the oldest go first. One signer has at most one entry of each kind.
	maxDepsPerAccount = 64
)

// Prereq is a transaction of another signer that a Tx needs in a block before the Tx is
// submitted: it is there once the signer's committed nonce is at least Nonce.
type Prereq struct {
	Signer ledger.Address
	Nonce  uint64
}

// Prerequisites lists the transactions of other signers that tx needs in a block first.
// Unresolved reports one the node refused that is due to be sent again, with a nonce not
// known yet: wait, and ask again. A prerequisite that will never execute is left out.
func (tx *Tx) Prerequisites() (reqs []Prereq, unresolved bool) {
	for _, r := range tx.needs {
		switch n := r.nonce.Load(); n {
		case refAwaiting:
			unresolved = true
		case refNever:
		default:
			reqs = append(reqs, Prereq{Signer: r.signer, Nonce: n})
		}
	}
	return reqs, unresolved
}

// depEntry is a recent transaction kept in an account's causal bookkeeping: asset is the
// index of the asset credited, or -1 for a transaction that named the account.
type depEntry struct {
	asset int
	ref   *txRef
}

// depList keeps at most one entry per signer and asset, the latest, and none older than the
// horizon.
type depList []depEntry

func (l depList) add(asset int, r *txRef, now int64) depList {
	out := l[:0]
	for _, e := range l {
		if e.ref.at >= now-depHorizon && (e.asset != asset || e.ref.signer != r.signer) {
			out = append(out, e)
		}
	}
	if len(out) >= maxDepsPerAccount {
		out = append(out[:0], out[1:]...)
	}
	return append(out, depEntry{asset: asset, ref: r})
}

// need makes tx wait for r, unless r is tx's signer's own (nonce order keeps those) or old
// enough to be in a block.
func (g *Generator) need(tx *Tx, r *txRef) {
	if r == nil || r == tx.ref || r.signer == tx.Signer || r.at < g.now-depHorizon {
		return
	}
	for _, x := range tx.needs {
		if x == r {
			return
		}
	}
	tx.needs = append(tx.needs, r)
}

// names records that tx names a: it needs a to exist and be active, and a freeze of a must
// wait for it.
func (g *Generator) names(tx *Tx, a *account) {
	if a == nil {
		return
	}
	g.need(tx, a.reg)
	g.need(tx, a.status)
	if a.role != roleMember && a.role != roleRegulator { // never frozen
		a.touched = a.touched.add(-1, tx.ref, g.now)
	}
}

// debits records that tx spends or locks a's holding of asset ai: it needs the credits that
// filled it.
func (g *Generator) debits(tx *Tx, a *account, ai int) {
	if a == nil || ai < 0 {
		return
	}
	for _, e := range a.credits {
		if e.asset == ai {
			g.need(tx, e.ref)
		}
	}
}

// credits records that tx adds to a's available holding of asset ai.
func (g *Generator) credits(tx *Tx, a *account, ai int) {
	if a == nil || ai < 0 {
		return
	}
	a.credits = a.credits.add(ai, tx.ref, g.now)
}

func (g *Generator) assetIndex(symbol string) int {
	if as := g.bySymbol[symbol]; as != nil {
		return as.idx
	}
	return -1
}

// trace derives tx's prerequisites from its body and records what later transactions will
// need of it. Gateway settlements' confirmations and failures name only the settlement: see
// closes.
func (g *Generator) trace(tx *Tx, signers []*account) {
	for _, s := range signers {
		g.names(tx, s)
	}
	signer := signers[0]
	switch b := tx.body.(type) {
	case *ledger.Mint:
		to := g.byAddr[b.To]
		g.names(tx, to)
		g.credits(tx, to, g.assetIndex(b.Asset))
	case *ledger.Burn:
		g.debits(tx, signer, g.assetIndex(b.Asset))
	case *ledger.Transfer:
		ai := g.assetIndex(b.Asset)
		to := g.byAddr[b.To]
		g.debits(tx, signer, ai)
		g.names(tx, to)
		g.credits(tx, to, ai)
	case *ledger.SettleDvP:
		ai, ci := g.assetIndex(b.Asset), g.coin.idx
		seller, buyer := g.byAddr[b.Seller], g.byAddr[b.Buyer]
		g.names(tx, seller)
		g.names(tx, buyer)
		g.debits(tx, seller, ai)
		g.debits(tx, buyer, ci)
		g.credits(tx, buyer, ai)
		g.credits(tx, seller, ci)
	case *ledger.LockForSettlement:
		g.debits(tx, signer, g.assetIndex(b.Asset))
		g.names(tx, g.byAddr[b.Buyer])
	case *ledger.Freeze:
		g.freezes(tx, b.Account)
	case *ledger.Unfreeze:
		g.freezes(tx, b.Account)
	}
}

// freezes records a freeze or unfreeze of the account at addr: it waits for the account's
// registration, its last change of status and the recent transactions naming it, and every
// later transaction naming it waits for this one.
func (g *Generator) freezes(tx *Tx, addr ledger.Address) {
	a := g.byAddr[addr]
	if a == nil {
		return
	}
	g.need(tx, a.reg)
	g.need(tx, a.status)
	for _, e := range a.touched {
		g.need(tx, e.ref)
	}
	a.status = tx.ref
}

// closes records that tx confirms (or, with confirmed false, fails) the gateway settlement
// that lock opened: it needs the lock, and the seller and buyer active; a confirmation
// credits the buyer, a failure returns the asset to the seller's available holding.
func (g *Generator) closes(tx, lock *Tx, seller, buyer *account, as *assetState, confirmed bool) {
	if g.discard {
		return
	}
	g.need(tx, lock.ref)
	g.names(tx, seller)
	g.names(tx, buyer)
	if confirmed {
		g.credits(tx, buyer, as.idx)
	} else {
		g.credits(tx, seller, as.idx)
	}
}
