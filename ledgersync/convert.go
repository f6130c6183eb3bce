package ledgersync

import (
	"bytes"
	"fmt"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/node"
	"github.com/ledgerscope/ledgerscope/store"
)

// converter turns committed blocks into rows. It keeps each account's sponsoring member so
// that every transaction is attributed to a member as it is read; blocks must be converted
// in height order.
type converter struct {
	sponsors map[string]string // account address bytes -> member id
}

// txSummary is what a transaction is about, as its body says, and what its events must
// agree with: the events of a plain transfer fold its leg into its row.
type txSummary struct {
	hash         []byte
	signer       []byte
	asset        string
	amount       uint64
	counterparty []byte
	transfer     bool // a successful plain transfer, whose row stands for its leg
	folded       bool // that leg was read
}

func addrBytes(a ledger.Address) []byte { return append([]byte(nil), a[:]...) }

func hashBytes(h ledger.Hash) []byte { return append([]byte(nil), h[:]...) }

// summarize reads the asset, amount and counterparty from a decoded body.
func (st *blockState) summarize(body ledger.Body) txSummary {
	switch b := body.(type) {
	case *ledger.RegisterAccount:
		return txSummary{counterparty: st.addr(ledger.AddressOf(b.PubKey))}
	case *ledger.IssueAsset:
		return txSummary{asset: b.Symbol}
	case *ledger.Mint:
		return txSummary{asset: b.Asset, amount: b.Amount, counterparty: st.addr(b.To)}
	case *ledger.Burn:
		return txSummary{asset: b.Asset, amount: b.Amount}
	case *ledger.AttestReserves:
		return txSummary{asset: ledger.CoinSymbol, amount: b.Amount}
	case *ledger.Transfer:
		return txSummary{asset: b.Asset, amount: b.Amount, counterparty: st.addr(b.To), transfer: true}
	case *ledger.SettleDvP:
		return txSummary{asset: b.Asset, amount: b.Quantity, counterparty: st.addr(b.Buyer)}
	case *ledger.LockForSettlement:
		return txSummary{asset: b.Asset, amount: b.Quantity, counterparty: st.addr(b.Buyer)}
	case *ledger.Freeze:
		if b.Asset != "" {
			return txSummary{asset: b.Asset}
		}
		return txSummary{counterparty: st.addr(b.Account)}
	case *ledger.Unfreeze:
		if b.Asset != "" {
			return txSummary{asset: b.Asset}
		}
		return txSummary{counterparty: st.addr(b.Account)}
	}
	// ConfirmPayment and FailSettlement name a settlement; their events say the rest.
	return txSummary{}
}

// amountOf converts a ledger amount, which the ledger bounds by MaxAmount, to a column value.
func amountOf(v uint64, what string) (int64, error) {
	if v > ledger.MaxAmount {
		return 0, fmt.Errorf("%s %d exceeds the ledger's maximum amount", what, v)
	}
	return int64(v), nil
}

// holding names an account's holding of an asset: a map key that, unlike the address as a
// string, costs no allocation per balance change.
type holding struct {
	account ledger.Address
	asset   string
}

// holdingOf is the holding a stored balance change is of.
func holdingOf(c *store.BalanceChange) holding {
	k := holding{asset: c.Asset}
	copy(k.account[:], c.Account)
	return k
}

// blockState folds one block's balance changes and supplies.
type blockState struct {
	rows     *store.BlockRows
	balances map[holding]int // -> index in rows.Changes
	supply   map[string]int  // asset -> index in rows.Supply
	arena    []byte          // see keep
}

// arenaPerTx sizes a block's first arena chunk: a transfer's hash, signer, recipient and
// two balance changes take 112 bytes.
const arenaPerTx = 120

// keep copies p into the block's arena and returns the copy, capped so that appending to it
// cannot reach the next one. The addresses and hashes of a block's rows, six or so per tx,
// each in its own allocation took about 0.5 CPU-s per 1M txs, and more in the GC. The rows
// of a block share its arena's chunks, and live as long as one another; whoever keeps one
// field of a row beyond the block's rows copies it (Worker.hold).
func (st *blockState) keep(p []byte) []byte {
	if cap(st.arena)-len(st.arena) < len(p) {
		st.arena = make([]byte, 0, max(64<<10, len(p)))
	}
	n := len(st.arena)
	st.arena = append(st.arena, p...)
	return st.arena[n:len(st.arena):len(st.arena)]
}

// addr is a copy of a in the block's arena.
func (st *blockState) addr(a ledger.Address) []byte { return st.keep(a[:]) }

// hash is a copy of h in the block's arena.
func (st *blockState) hash(h ledger.Hash) []byte { return st.keep(h[:]) }

// convert turns a block into its rows: the block's own events first (settlement expiries
// happen before its transactions), then each transaction in order.
func (c *converter) convert(b *node.CommittedBlock) (*store.BlockRows, error) {
	if len(b.TxResults) != len(b.Txs) {
		return nil, fmt.Errorf("block %d: %d txs, %d results", b.Height, len(b.Txs), len(b.TxResults))
	}
	// A value, not a pointer, so that it stays on the stack.
	st := newBlockState(b)
	blockEvents, err := ledger.ParseEvents(b.Events)
	if err != nil {
		return nil, fmt.Errorf("block %d events: %w", b.Height, err)
	}
	if err := c.events(&st, b, -1, blockEvents, nil); err != nil {
		return nil, fmt.Errorf("block %d events: %w", b.Height, err)
	}
	day := store.MarketDay(st.rows.Block.Time)
	rollups := map[[3]string]int{} // member, asset, type -> index in rows.Rollups
	for i := range b.Txs {
		if err := c.tx(&st, b, i); err != nil {
			return nil, err
		}
		addRollup(st.rows, rollups, day, &st.rows.Txs[i])
	}
	return st.rows, nil
}

// newBlockState starts the rows of block b.
func newBlockState(b *node.CommittedBlock) blockState {
	t := b.Time.UTC()
	rows := &store.BlockRows{Block: store.Block{
		Height: b.Height, Hash: b.Hash, Time: t, Proposer: nonNil(b.Proposer), AppHash: nonNil(b.AppHash),
		TxCount: int32(len(b.Txs)),
	}}
	// Sized for the common tx, a transfer: two balance changes and a leg its row stands
	// for. Growing these slices and the map took a quarter of the conversion.
	n := len(b.Txs)
	rows.Txs = make([]store.Transaction, 0, n)
	rows.Legs = make([]store.TransferLeg, 0, n/4)
	rows.Changes = make([]store.BalanceChange, 0, 2*n)
	return blockState{
		rows: rows, balances: make(map[holding]int, 2*n), supply: map[string]int{},
		arena: make([]byte, 0, arenaPerTx*n),
	}
}

// tx adds the row of block b's i-th transaction and the rows of its events.
func (c *converter) tx(st *blockState, b *node.CommittedBlock, i int) error {
	raw, res := b.Txs[i], b.TxResults[i]
	rows := st.rows
	tx := store.Transaction{
		BlockTime: rows.Block.Time, Height: b.Height, Idx: int32(i), Hash: st.hash(ledger.TxHash(raw)),
		Code: int32(res.Code), Reason: res.Log,
	}
	if res.Code == 0 {
		tx.Reason = ""
	} else {
		rows.Block.FailedCount++
	}
	var sum txSummary
	if dtx, err := ledger.ParseTx(raw); err == nil {
		tx.Memo = dtx.Memo
		tx.Type = dtx.Body.Type().String()
		tx.Signer = st.addr(dtx.Signer())
		tx.Nonce = int64(dtx.Nonce)
		sum = st.summarize(dtx.Body)
		sum.signer = tx.Signer
		// The transfer_legs view reads legs from successful transfers' rows only.
		sum.transfer = sum.transfer && res.Code == 0
	}
	sum.hash = tx.Hash
	txEvents, err := ledger.TxEvents(res)
	if err != nil {
		return fmt.Errorf("block %d tx %d events: %w", b.Height, i, err)
	}
	if err := c.events(st, b, i, txEvents, &sum); err != nil {
		return fmt.Errorf("block %d tx %d: %w", b.Height, i, err)
	}
	if sum.transfer && !sum.folded {
		return fmt.Errorf("block %d tx %d: a successful transfer without its leg", b.Height, i)
	}
	if tx.Signer != nil {
		tx.Member = c.sponsors[string(tx.Signer)]
	}
	tx.Asset, tx.Counterparty = sum.asset, sum.counterparty
	amount, err := amountOf(sum.amount, "amount")
	if err != nil {
		// A failed tx may carry any amount its sender typed; it moved nothing.
		if res.Code == 0 {
			return fmt.Errorf("block %d tx %d: %w", b.Height, i, err)
		}
		amount = 0
	}
	tx.Amount = amount
	rows.Txs = append(rows.Txs, tx)
	return nil
}

// addRollup counts tx into its member's, asset's and type's rollup of the block's market
// day; rollups indexes rows.Rollups. It is a map of convert's own, not the block state's, so
// that it stays on the stack while a block's rollups are few.
func addRollup(rows *store.BlockRows, rollups map[[3]string]int, day time.Time, tx *store.Transaction) {
	k := [3]string{tx.Member, tx.Asset, tx.Type}
	j, ok := rollups[k]
	if !ok {
		j = len(rows.Rollups)
		rollups[k] = j
		rows.Rollups = append(rows.Rollups, store.RollupDelta{Day: day, Member: tx.Member, Asset: tx.Asset, Type: tx.Type})
	}
	r := &rows.Rollups[j]
	r.TxCount++
	if tx.Code != 0 {
		r.FailedCount++
	} else {
		r.Value += uint64(tx.Amount)
	}
}

// events turns one transaction's (or the block's, txIdx -1) typed events into rows.
func (c *converter) events(st *blockState, b *node.CommittedBlock, txIdx int, evs []ledger.Event, sum *txSummary) error {
	rows := st.rows
	h, t := b.Height, rows.Block.Time
	txHash := []byte{} // a block's own legs have no tx
	if sum != nil {
		txHash = sum.hash
	}
	var seq int16
	for _, ev := range evs {
		var err error
		switch e := ev.(type) {
		case *ledger.TransferEvent:
			err = st.leg(e, txIdx, seq, txHash, sum)
			seq++
		case *ledger.BalanceEvent:
			err = st.balance(e)
		case *ledger.MintEvent:
			err = st.setSupply(e.Asset, e.Supply, h, t)
		case *ledger.BurnEvent:
			err = st.setSupply(e.Asset, e.Supply, h, t)
		case *ledger.FreezeEvent:
			st.freeze(e)
		case *ledger.AccountEvent:
			rows.NewAccounts = append(rows.NewAccounts, accountRow(e, h))
			c.sponsors[string(e.Address[:])] = e.Sponsor
		case *ledger.AssetEvent:
			rows.NewAssets = append(rows.NewAssets, assetRow(&e.Asset, h))
		case *ledger.ReservesEvent:
			var r store.ReserveAttestation
			if r, err = reservesRow(e, txIdx, h, t); err == nil {
				rows.Reserves = append(rows.Reserves, r)
			}
		case *ledger.SettlementEvent:
			err = st.settlement(e, sum)
		case *ledger.LockEvent, *ledger.ReleaseEvent:
			// Their effect on holdings arrives as balance events.
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// leg adds the seq-th transfer leg of transaction txIdx, or folds it into the transaction's
// row if that is a plain transfer.
func (st *blockState) leg(e *ledger.TransferEvent, txIdx int, seq int16, txHash []byte, sum *txSummary) error {
	amt, err := amountOf(e.Amount, "transfer amount")
	if err != nil {
		return err
	}
	if e.Leg == "transfer" && sum != nil && sum.transfer {
		// The transfer_legs view reads a plain transfer's leg from its tx row: that
		// row must say what the leg says, or the view would be wrong.
		if seq != 0 || !bytes.Equal(sum.signer, e.From[:]) || !bytes.Equal(sum.counterparty, e.To[:]) ||
			sum.asset != e.Asset || sum.amount != e.Amount {
			return fmt.Errorf("transfer leg %x->%x %d %s differs from its transaction", e.From[:], e.To[:], e.Amount, e.Asset)
		}
		sum.folded = true
		return nil
	}
	st.rows.Legs = append(st.rows.Legs, store.TransferLeg{
		BlockTime: st.rows.Block.Time, Height: st.rows.Block.Height, TxIdx: int32(txIdx), Seq: seq, Leg: e.Leg,
		From: st.addr(e.From), To: st.addr(e.To), Asset: e.Asset, Amount: amt, TxHash: txHash,
	})
	return nil
}

// balance folds a balance event into its holding's change in this block: the block's last
// balance stands, its deltas add up.
func (st *blockState) balance(e *ledger.BalanceEvent) error {
	amt, err := amountOf(e.Amount, "balance")
	if err != nil {
		return err
	}
	locked, err := amountOf(e.Locked, "locked balance")
	if err != nil {
		return err
	}
	rows := st.rows
	k := holding{e.Account, e.Asset}
	if i, ok := st.balances[k]; ok {
		ch := &rows.Changes[i]
		ch.Delta += e.Delta
		ch.Amount, ch.Locked = amt, locked
		return nil
	}
	st.balances[k] = len(rows.Changes)
	rows.Changes = append(rows.Changes, store.BalanceChange{
		BlockTime: rows.Block.Time, Height: rows.Block.Height, Account: st.addr(e.Account), Asset: e.Asset,
		Delta: e.Delta, Amount: amt, Locked: locked,
	})
	return nil
}

// freeze records the new status of the asset or account a freeze event names.
func (st *blockState) freeze(e *ledger.FreezeEvent) {
	status := ledger.StatusActive
	if e.Frozen {
		status = ledger.StatusFrozen
	}
	rows, h := st.rows, st.rows.Block.Height
	if e.Asset != "" {
		rows.AssetStatus = append(rows.AssetStatus, store.StatusChange{Key: []byte(e.Asset), Status: status.String(), Height: h})
	} else {
		rows.AccountStatus = append(rows.AccountStatus, store.StatusChange{Key: addrBytes(e.Account), Status: status.String(), Height: h})
	}
}

// settlement adds a settlement's row, and tells a transaction that names only the
// settlement what it was about.
func (st *blockState) settlement(e *ledger.SettlementEvent, sum *txSummary) error {
	s, err := settlementRow(e, st.rows.Block.Height, st.rows.Block.Time)
	if err != nil {
		return err
	}
	st.rows.Settlements = append(st.rows.Settlements, s)
	if sum != nil && sum.asset == "" {
		// Confirm and fail name only the settlement: take what it was about.
		sum.asset, sum.amount, sum.counterparty = e.Asset, e.Quantity, addrBytes(e.Buyer)
	}
	return nil
}

func accountRow(e *ledger.AccountEvent, h int64) store.Account {
	return store.Account{
		Address: addrBytes(e.Address), PubKey: append([]byte(nil), e.PubKey[:]...), Sponsor: e.Sponsor,
		Kind: e.Kind.String(), OwnerRef: hashBytes(e.OwnerRef), Status: ledger.StatusActive.String(),
		Venues: store.StringList(e.Venues), Height: h, UpdatedHeight: h,
	}
}

func reservesRow(e *ledger.ReservesEvent, txIdx int, h int64, t time.Time) (store.ReserveAttestation, error) {
	amt, err := amountOf(e.Amount, "reserves")
	if err != nil {
		return store.ReserveAttestation{}, err
	}
	supply, err := amountOf(e.Supply, "coin supply")
	if err != nil {
		return store.ReserveAttestation{}, err
	}
	return store.ReserveAttestation{
		Height: h, TxIdx: int32(txIdx), BlockTime: t, Amount: amt,
		AsOf: time.Unix(e.AsOf, 0).UTC(), Report: hashBytes(e.Report), CoinSupply: supply,
	}, nil
}

func (st *blockState) setSupply(asset string, supply uint64, h int64, t time.Time) error {
	v, err := amountOf(supply, "supply")
	if err != nil {
		return err
	}
	if i, ok := st.supply[asset]; ok {
		st.rows.Supply[i].Supply = v
		return nil
	}
	st.supply[asset] = len(st.rows.Supply)
	st.rows.Supply = append(st.rows.Supply, store.SupplyPoint{Asset: asset, Height: h, BlockTime: t, Supply: v})
	return nil
}

func settlementRow(e *ledger.SettlementEvent, h int64, t time.Time) (store.Settlement, error) {
	q, err := amountOf(e.Quantity, "settlement quantity")
	if err != nil {
		return store.Settlement{}, err
	}
	cash, err := amountOf(e.Cash, "settlement cash")
	if err != nil {
		return store.Settlement{}, err
	}
	s := store.Settlement{
		ID: hashBytes(e.ID), Kind: e.Kind, State: e.State.String(), Venue: e.Venue, Gateway: e.Gateway,
		Seller: addrBytes(e.Seller), Buyer: addrBytes(e.Buyer), Asset: e.Asset, Quantity: q, Cash: cash,
		Reason: e.Reason, OpenedHeight: h, OpenedTime: t,
	}
	if e.Kind == "gateway" {
		d := time.Unix(e.Deadline, 0).UTC()
		s.Deadline = &d
	}
	if e.State == ledger.SettlementLocked || e.Kind == "dvp" {
		s.Ref = e.Ref
	} else {
		s.CloseRef = e.Ref
	}
	if e.State != ledger.SettlementLocked {
		hh, tt := h, t
		s.ClosedHeight, s.ClosedTime = &hh, &tt
	}
	return s, nil
}

func assetRow(a *ledger.Asset, h int64) store.Asset {
	return store.Asset{
		Symbol: a.Symbol, Name: a.Name, Class: a.Class.String(), SecurityKind: a.Kind.String(),
		Decimals: int16(a.Decimals), Issuer: a.Issuer, Venue: a.Venue, Commodity: a.Commodity,
		Grade: a.Grade, Warehouse: a.Warehouse, Unit: a.Unit, PositionLimit: int64(min(a.PositionLimit, ledger.MaxAmount)),
		Status: ledger.StatusActive.String(), Supply: int64(min(a.Supply, ledger.MaxAmount)), Height: h, UpdatedHeight: h,
	}
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
