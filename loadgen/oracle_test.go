package loadgen

import (
	"fmt"
	"sort"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// oracle is an independent reading of issue 4's rules at their default parameters, computed
// from nothing but the blocks and their execution results, and stricter than a reasonable
// implementation wherever the rule's wording leaves room (mints and burns count as coin
// movements; RAPID is read both per receipt and as a sliding window; every gateway settlement
// counts as a trade for MATCHED). Clean traffic must give it nothing to report; injected
// scenarios must give it exactly the subjects of the ground truth.
type oracle struct {
	accounts map[ledger.Address]*oAccount
	assets   map[string]*ledger.Asset

	daySum    map[oDayKey]uint64 // LV: coin debits and credits per account and Shanghai day
	structHit map[ledger.Hash][]oHit
	holdings  map[oHoldKey]int64
	holdStep  map[oHoldKey]int64 // HOLD-5: 5% steps; HOLD-1: base once at or above 5%
	holdBase  map[oHoldKey]int64
	dirty     map[oHoldKey]bool
	coinEv    map[ledger.Address][]oCoin
	trades    []oTrade

	reserve        uint64
	reserveRaised  bool
	lastAttestTime int64

	// watched and watchedOwners are the watch list: addresses, and owner_refs whose every
	// account is watched.
	watched       map[ledger.Address]bool
	watchedOwners map[ledger.Hash]bool

	subjects map[string]map[string]bool // rule -> subject
	txs      map[string]map[string]bool // rule -> tx hash
	notes    []string
}

type oAccount struct {
	kind   ledger.AccountKind
	owner  ledger.Hash
	frozen bool
}

type oDayKey struct {
	a   ledger.Address
	day int64
}

type oHoldKey struct {
	owner ledger.Hash
	asset string
}

type oHit struct {
	at     int64
	amount uint64
	t      uint64
	tx     string
}

type oCoin struct {
	at  int64
	amt int64
}

type oTrade struct {
	at                  int64
	asset               string
	buyer, seller       ledger.Hash
	qty, cash           uint64
	tx                  string
	buyerAcc, sellerAcc ledger.Address
}

func newOracle(st *ledger.State) *oracle {
	o := &oracle{
		accounts: map[ledger.Address]*oAccount{}, assets: map[string]*ledger.Asset{},
		daySum: map[oDayKey]uint64{}, structHit: map[ledger.Hash][]oHit{},
		holdings: map[oHoldKey]int64{}, holdStep: map[oHoldKey]int64{}, holdBase: map[oHoldKey]int64{},
		dirty: map[oHoldKey]bool{}, coinEv: map[ledger.Address][]oCoin{},
		subjects: map[string]map[string]bool{}, txs: map[string]map[string]bool{},
		watched: map[ledger.Address]bool{}, watchedOwners: map[ledger.Hash]bool{},
	}
	for a, acc := range st.Accounts {
		o.accounts[a] = &oAccount{kind: acc.Kind, owner: acc.OwnerRef, frozen: acc.Status == ledger.StatusFrozen}
	}
	for sym, as := range st.Assets {
		c := *as
		o.assets[sym] = &c
	}
	return o
}

func (o *oracle) flag(rule, subject, tx, note string) {
	if o.subjects[rule] == nil {
		o.subjects[rule], o.txs[rule] = map[string]bool{}, map[string]bool{}
	}
	o.subjects[rule][strings.ToUpper(subject)] = true
	if tx != "" {
		o.txs[rule][strings.ToUpper(tx)] = true
	}
	if len(o.notes) < 50 {
		o.notes = append(o.notes, fmt.Sprintf("%s %s %s: %s", rule, subject, tx, note))
	}
}

func (o *oracle) ownerOf(a ledger.Address) ledger.Hash { return o.accounts[a].owner }

// block reads one executed block.
func (o *oracle) block(at time.Time, raws [][]byte, resp *abci.FinalizeBlockResponse) error {
	now := at.Unix()
	evs, err := ledger.ParseEvents(resp.Events)
	if err != nil {
		return err
	}
	o.events(now, "", evs)
	for i, r := range resp.TxResults {
		hash := ledger.TxHash(raws[i]).String()
		dtx, err := ledger.DecodeTx(raws[i])
		if err != nil {
			return err
		}
		var evs []ledger.Event
		if r.Code == uint32(ledger.CodeOK) {
			if evs, err = ledger.TxEvents(r); err != nil {
				return err
			}
		}
		o.watch(hash, dtx, evs)
		switch ledger.Code(r.Code) {
		case ledger.CodeOK:
		case ledger.CodeSignerFrozen:
			o.flag("FROZEN", dtx.Signer().String(), hash, "attempt by a frozen account")
			continue
		case ledger.CodeAccountFrozen:
			for _, a := range namedAccounts(dtx.Body) {
				if acc := o.accounts[a]; acc != nil && acc.frozen {
					o.flag("FROZEN", a.String(), hash, "attempt to reach a frozen account")
				}
			}
			continue
		default:
			continue
		}
		o.events(now, hash, evs)
	}
	o.endBlock(now)
	return nil
}

// setWatchlist loads the watch list the generator's WATCH scenario expects.
func (o *oracle) setWatchlist(entries []WatchEntry) error {
	for _, e := range entries {
		if h, err := ledger.ParseHash(e.Value); err == nil {
			o.watchedOwners[h] = true
			continue
		}
		a, err := ledger.ParseAddress(e.Value)
		if err != nil {
			return fmt.Errorf("watch list entry %q: %w", e.Value, err)
		}
		o.watched[a] = true
	}
	return nil
}

// watch reads WATCH at its strictest: any transaction, failed ones included, whose signers,
// named accounts (a registration's new account among them) or events' parties include a
// listed account or an account of a listed owner.
func (o *oracle) watch(hash string, dtx *ledger.DecodedTx, evs []ledger.Event) {
	if len(o.watched) == 0 && len(o.watchedOwners) == 0 {
		return
	}
	parties := []ledger.Address{dtx.Signer()}
	owners := map[ledger.Address]ledger.Hash{}
	switch b := dtx.Body.(type) {
	case *ledger.RegisterAccount:
		a := ledger.AddressOf(b.PubKey)
		parties = append(parties, a)
		owners[a] = b.OwnerRef
	case *ledger.Freeze:
		parties = append(parties, b.Account)
	case *ledger.Unfreeze:
		parties = append(parties, b.Account)
	default:
		parties = append(parties, namedAccounts(dtx.Body)...)
	}
	for _, ev := range evs {
		switch e := ev.(type) {
		case *ledger.TransferEvent:
			parties = append(parties, e.From, e.To)
		case *ledger.SettlementEvent:
			parties = append(parties, e.Seller, e.Buyer)
		}
	}
	for _, a := range parties {
		owner, ok := owners[a]
		if acc := o.accounts[a]; !ok && acc != nil {
			owner = acc.owner
		}
		if o.watched[a] || o.watchedOwners[owner] {
			o.flag("WATCH", a.String(), hash, "party on the watch list")
		}
	}
}

func namedAccounts(b ledger.Body) []ledger.Address {
	switch b := b.(type) {
	case *ledger.Transfer:
		return []ledger.Address{b.To}
	case *ledger.SettleDvP:
		return []ledger.Address{b.Seller, b.Buyer}
	case *ledger.LockForSettlement:
		return []ledger.Address{b.Buyer}
	case *ledger.Mint:
		return []ledger.Address{b.To}
	}
	return nil
}

func (o *oracle) events(now int64, hash string, evs []ledger.Event) {
	for _, ev := range evs {
		switch e := ev.(type) {
		case *ledger.AccountEvent:
			o.accounts[e.Address] = &oAccount{kind: e.Kind, owner: e.OwnerRef}
		case *ledger.AssetEvent:
			c := e.Asset
			o.assets[c.Symbol] = &c
		case *ledger.FreezeEvent:
			if acc := o.accounts[e.Account]; acc != nil {
				acc.frozen = e.Frozen
			}
		case *ledger.BalanceEvent:
			o.balance(now, hash, e)
		case *ledger.MintEvent:
			o.assets[e.Asset].Supply = e.Supply
			if e.Asset == ledger.CoinSymbol {
				if !o.reserveRaised || e.Supply > o.reserve {
					o.flag("RESERVE", ledger.CoinSymbol, hash, fmt.Sprintf("mint to %d over reserve %d (raised %v)", e.Supply, o.reserve, o.reserveRaised))
				}
				o.reserveRaised = false
			}
		case *ledger.BurnEvent:
			o.assets[e.Asset].Supply = e.Supply
		case *ledger.ReservesEvent:
			o.reserveRaised = e.Amount > o.reserve
			o.reserve = e.Amount
			o.lastAttestTime = now
		case *ledger.TransferEvent:
			o.transfer(now, hash, e)
		case *ledger.SettlementEvent:
			o.settlement(now, hash, e)
		}
	}
}

func (o *oracle) balance(now int64, hash string, e *ledger.BalanceEvent) {
	if e.Asset == ledger.CoinSymbol {
		acc := o.accounts[e.Account]
		k := oDayKey{e.Account, shanghaiDay(now)}
		before := o.daySum[k]
		o.daySum[k] += uint64(abs(e.Delta))
		t := lvThreshold(acc.kind)
		if before < t && o.daySum[k] >= t {
			rule := "LV-IND"
			if acc.kind == ledger.KindInstitution {
				rule = "LV-INST"
			}
			o.flag(rule, e.Account.String(), hash, fmt.Sprintf("day sum %d", o.daySum[k]))
		}
		o.rapid(now, hash, e.Account, e.Delta)
		return
	}
	as := o.assets[e.Asset]
	if as == nil || as.Class != ledger.ClassSecurity {
		return
	}
	k := oHoldKey{o.ownerOf(e.Account), e.Asset}
	o.holdings[k] += e.Delta
	o.dirty[k] = true
}

// rapid reads RAPID both ways: the debits in the hour after each credit against that credit,
// and the debits against the credits of the hour ending now.
func (o *oracle) rapid(now int64, hash string, a ledger.Address, delta int64) {
	evs := append(o.coinEv[a], oCoin{now, delta})
	i := 0
	for i < len(evs) && evs[i].at < now-rapidWindow {
		i++
	}
	evs = evs[i:]
	o.coinEv[a] = evs
	if delta >= 0 {
		return
	}
	var in, out int64
	for j, e := range evs {
		if e.amt > 0 {
			in += e.amt
			var after int64
			for _, f := range evs[j+1:] {
				if f.amt < 0 {
					after -= f.amt
				}
			}
			if after*100 >= e.amt*rapidSharePct {
				o.flag("RAPID", a.String(), hash, fmt.Sprintf("received %d at %d, sent %d since", e.amt, e.at, after))
				return
			}
		} else {
			out -= e.amt
		}
	}
	if in > 0 && out*100 >= in*rapidSharePct {
		o.flag("RAPID", a.String(), hash, fmt.Sprintf("window in %d out %d", in, out))
	}
}

func (o *oracle) transfer(now int64, hash string, e *ledger.TransferEvent) {
	from, to := o.ownerOf(e.From), o.ownerOf(e.To)
	if from == to {
		o.flag("SELF", from.String(), hash, fmt.Sprintf("%s leg %s -> %s", e.Leg, e.From, e.To))
	}
	if e.Asset != ledger.CoinSymbol {
		return
	}
	for _, t := range []uint64{lvIndividual, lvInstitution} {
		if e.Amount < t*9/10 || e.Amount >= t {
			continue
		}
		hits := append(o.structHit[from], oHit{now, e.Amount, t, hash})
		o.structHit[from] = hits
		var n int
		var sum uint64
		for _, h := range hits {
			if h.t == t && h.at > now-structWindow {
				n++
				sum += h.amount
			}
		}
		if n >= structN && sum >= t {
			for _, h := range hits {
				if h.t == t && h.at > now-structWindow {
					o.flag("STRUCT", from.String(), h.tx, fmt.Sprintf("%d transfers in band of %d", n, t))
				}
			}
		}
	}
}

func (o *oracle) settlement(now int64, hash string, e *ledger.SettlementEvent) {
	switch {
	case e.Kind == "gateway" && e.State == ledger.SettlementFailed:
		o.flag("SETTLE-FAIL", e.Seller.String(), e.ID.String(), e.Reason)
		return
	case e.Kind == "dvp" && !ExchangeSessions(e.Venue, time.Unix(now, 0)):
		o.flag("SESSION", e.Venue, hash, "trade outside session")
	case e.Kind == "gateway" && e.State != ledger.SettlementConfirmed:
		return
	}
	tr := oTrade{at: now, asset: e.Asset, buyer: o.ownerOf(e.Buyer), seller: o.ownerOf(e.Seller),
		qty: e.Quantity, cash: e.Cash, tx: hash, buyerAcc: e.Buyer, sellerAcc: e.Seller}
	i := 0
	for i < len(o.trades) && o.trades[i].at < now-5 {
		i++
	}
	o.trades = o.trades[i:]
	for _, p := range o.trades {
		if p.asset != tr.asset || p.tx == tr.tx {
			continue
		}
		var linked ledger.Hash
		switch {
		case p.buyer == tr.seller:
			linked = p.buyer
		case p.seller == tr.buyer:
			linked = p.seller
		default:
			continue
		}
		if within(p.qty, tr.qty, 1) && within(p.cash*tr.qty, tr.cash*p.qty, 1) {
			o.flag("MATCHED", linked.String(), p.tx, "pair")
			o.flag("MATCHED", linked.String(), tr.tx, "pair")
		}
	}
	o.trades = append(o.trades, tr)
}

// within reports whether a and b differ by at most pct percent of the larger.
func within(a, b, pct uint64) bool {
	d := max(a, b) - min(a, b)
	return d*100 <= max(a, b)*pct
}

func (o *oracle) endBlock(now int64) {
	if c := o.assets[ledger.CoinSymbol]; c.Supply > o.reserve {
		o.flag("RESERVE", ledger.CoinSymbol, "", fmt.Sprintf("supply %d above reserve %d at end of block", c.Supply, o.reserve))
	}
	if o.lastAttestTime != 0 && now-o.lastAttestTime > 31*86400 {
		o.flag("ATTEST-AGE", ledger.CoinSymbol, "", "stale attestation")
	}
	keys := make([]oHoldKey, 0, len(o.dirty))
	for k := range o.dirty {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].asset < keys[j].asset })
	for _, k := range keys {
		as := o.assets[k.asset]
		h := o.holdings[k]
		if as.Supply == 0 {
			continue
		}
		step := h * 20 / int64(as.Supply)
		if prev := o.holdStep[k]; step != prev && max(step, prev) >= 1 {
			o.flag("HOLD-5", k.owner.String(), "", fmt.Sprintf("%s steps %d -> %d", k.asset, prev, step))
		}
		o.holdStep[k] = step
		if h*20 >= int64(as.Supply) {
			base, ok := o.holdBase[k]
			if !ok {
				o.holdBase[k] = h
			} else if abs(h-base)*100 >= int64(as.Supply) {
				o.flag("HOLD-1", k.owner.String(), "", fmt.Sprintf("%s moved 1%% above 5%%", k.asset))
				o.holdBase[k] = h
			}
		}
		if as.Kind == ledger.SecurityFuture && as.PositionLimit > 0 && h > int64(as.PositionLimit) {
			o.flag("POS-LIM", k.owner.String(), "", fmt.Sprintf("%s position %d", k.asset, h))
		}
	}
	clear(o.dirty)
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
