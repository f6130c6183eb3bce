package store

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// table is one append-only table: its columns and how a block yields its rows. The
// balance history is not among appendTables: its rows group a whole batch's changes
// (chunkRows).
type table struct {
	columns
	// encoded tables, the history ones at a row or more per tx, have their rows encoded
	// for COPY ahead of the write, by an Encoder.
	encoded bool
	// write writes a block's rows.
	write func(w *rowWriter, b *BlockRows)
}

// blockTable declares a table whose rows a block holds in a slice (of), each written by
// fields.
func blockTable[R any](name string, encoded bool, of func(*BlockRows) []R, fields func(*rowWriter, *R)) table {
	var zero R
	c := declare(name, zero, fields)
	if encoded && !c.encodable() {
		panic(fmt.Sprintf("store: table %s is encoded but has a column without a binary encoding", name))
	}
	return table{columns: c, encoded: encoded, write: func(w *rowWriter, b *BlockRows) {
		w.width = len(c.cols)
		rows := of(b)
		if w.collect {
			w.vals = slices.Grow(w.vals, len(rows)*len(c.cols))
		}
		for i := range rows {
			fields(w, &rows[i])
		}
	}}
}

// values returns the rows of blocks as values for pgx.
func (t *table) values(blocks ...*BlockRows) *fieldRows {
	w := rowWriter{collect: true}
	for _, b := range blocks {
		t.write(&w, b)
	}
	return w.values()
}

var appendTables = []table{
	blockTable("blocks", false, func(b *BlockRows) []Block { return []Block{b.Block} }, blockFields),
	blockTable("transactions", true, func(b *BlockRows) []Transaction { return b.Txs }, txFields),
	blockTable("settlement_legs", true, func(b *BlockRows) []TransferLeg { return b.Legs }, legFields),
	blockTable("reserve_attestations", false, func(b *BlockRows) []ReserveAttestation { return b.Reserves }, reserveFields),
	blockTable("supply_history", false, func(b *BlockRows) []SupplyPoint { return b.Supply }, supplyFields),
	blockTable("members", false, func(b *BlockRows) []Member { return b.NewMembers }, memberFields),
	blockTable("accounts", false, func(b *BlockRows) []Account { return b.NewAccounts }, accountFields),
	blockTable("assets", false, func(b *BlockRows) []Asset { return b.NewAssets }, assetFields),
}

func blockFields(w *rowWriter, k *Block) {
	w.row()
	w.int8("height", k.Height)
	w.bytea("hash", k.Hash)
	w.time("time", k.Time)
	w.bytea("proposer", k.Proposer)
	w.bytea("app_hash", k.AppHash)
	w.int4("tx_count", k.TxCount)
	w.int4("failed_count", k.FailedCount)
}

func txFields(w *rowWriter, t *Transaction) {
	w.row()
	w.time("block_time", t.BlockTime)
	w.int8("height", t.Height)
	w.int4("idx", t.Idx)
	w.bytea("hash", t.Hash)
	w.text("type", t.Type)
	w.bytea("signer", t.Signer)
	w.text("member", t.Member)
	w.int8("nonce", t.Nonce)
	w.text("asset", t.Asset)
	w.int8("amount", t.Amount)
	w.bytea("counterparty", t.Counterparty)
	w.int4("code", t.Code)
	w.text("reason", t.Reason)
	w.text("memo", t.Memo)
}

func legFields(w *rowWriter, l *TransferLeg) {
	w.row()
	w.time("block_time", l.BlockTime)
	w.int8("height", l.Height)
	w.int4("tx_idx", l.TxIdx)
	w.int2("seq", l.Seq)
	w.text("leg", l.Leg)
	w.bytea("from_addr", l.From)
	w.bytea("to_addr", l.To)
	w.text("asset", l.Asset)
	w.int8("amount", l.Amount)
	w.bytea("tx_hash", l.TxHash)
}

func reserveFields(w *rowWriter, r *ReserveAttestation) {
	w.row()
	w.int8("height", r.Height)
	w.int4("tx_idx", r.TxIdx)
	w.time("block_time", r.BlockTime)
	w.int8("amount", r.Amount)
	w.time("as_of", r.AsOf)
	w.bytea("report", r.Report)
	w.int8("coin_supply", r.CoinSupply)
}

func supplyFields(w *rowWriter, s *SupplyPoint) {
	w.row()
	w.text("asset", s.Asset)
	w.int8("height", s.Height)
	w.time("block_time", s.BlockTime)
	w.int8("supply", s.Supply)
}

func memberFields(w *rowWriter, m *Member) {
	w.row()
	w.text("id", m.ID)
	w.text("name", m.Name)
	w.value("roles", []string(m.Roles))
	w.bytea("operator", m.Operator)
	w.int8("height", m.Height)
}

func accountFields(w *rowWriter, a *Account) {
	w.row()
	w.bytea("address", a.Address)
	w.bytea("pubkey", a.PubKey)
	w.text("sponsor", a.Sponsor)
	w.text("kind", a.Kind)
	w.bytea("owner_ref", a.OwnerRef)
	w.text("status", a.Status)
	w.value("venues", venues(a.Venues))
	w.int8("height", a.Height)
	w.int8("updated_height", a.UpdatedHeight)
}

// venues is an account's venues as a text[] that is never NULL.
func venues(v StringList) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func assetFields(w *rowWriter, a *Asset) {
	w.row()
	w.text("symbol", a.Symbol)
	w.text("name", a.Name)
	w.text("class", a.Class)
	w.text("security_kind", a.SecurityKind)
	w.int2("decimals", a.Decimals)
	w.text("issuer", a.Issuer)
	w.text("venue", a.Venue)
	w.text("commodity", a.Commodity)
	w.text("grade", a.Grade)
	w.text("warehouse", a.Warehouse)
	w.text("unit", a.Unit)
	w.int8("position_limit", a.PositionLimit)
	w.text("status", a.Status)
	w.int8("supply", a.Supply)
	w.int8("height", a.Height)
	w.int8("updated_height", a.UpdatedHeight)
}

// upsert is a table of current state that a batch inserts into or updates: its columns, the
// ON CONFLICT clause, and the staging table, shaped like it, that a large batch is copied
// into (none: always a multi-row INSERT).
type upsert[R any] struct {
	columns
	stage    string
	conflict string
	fields   func(*rowWriter, *R)
}

// newUpsert declares an upsert of rows written by fields.
func newUpsert[R any](name, stage, conflict string, fields func(*rowWriter, *R)) *upsert[R] {
	var zero R
	return &upsert[R]{columns: declare(name, zero, fields), stage: stage, conflict: conflict, fields: fields}
}

// replace is an ON CONFLICT clause on key that sets cols to the new row's.
func replace(key string, cols ...string) string {
	set := make([]string, len(cols))
	for i, c := range cols {
		set[i] = c + " = EXCLUDED." + c
	}
	return " ON CONFLICT (" + key + ") DO UPDATE SET " + strings.Join(set, ", ")
}

// accumulate is an ON CONFLICT clause on key that adds the new row's cols to the stored
// row's.
func accumulate(table, key string, cols ...string) string {
	set := make([]string, len(cols))
	for i, c := range cols {
		set[i] = c + " = " + table + "." + c + " + EXCLUDED." + c
	}
	return " ON CONFLICT (" + key + ") DO UPDATE SET " + strings.Join(set, ", ")
}

var balancesUpsert = newUpsert("balances", "balances_stage",
	replace("account, asset", "amount", "locked", "height"),
	func(w *rowWriter, c *BalanceChange) {
		w.row()
		w.bytea("account", c.Account)
		w.text("asset", c.Asset)
		w.int8("amount", c.Amount)
		w.int8("locked", c.Locked)
		w.int8("height", c.Height)
	})

// settlementsUpsert keeps what a settlement's opening said and takes its state from the
// latest event.
var settlementsUpsert = newUpsert("settlements", "settlements_stage",
	replace("id", "state", "reason", "close_ref", "closed_height", "closed_time"),
	func(w *rowWriter, s *Settlement) {
		w.row()
		w.bytea("id", s.ID)
		w.text("kind", s.Kind)
		w.text("state", s.State)
		w.text("venue", s.Venue)
		w.text("gateway", s.Gateway)
		w.bytea("seller", s.Seller)
		w.bytea("buyer", s.Buyer)
		w.text("asset", s.Asset)
		w.int8("quantity", s.Quantity)
		w.int8("cash", s.Cash)
		w.value("deadline", s.Deadline)
		w.text("ref", s.Ref)
		w.text("close_ref", s.CloseRef)
		w.text("reason", s.Reason)
		w.int8("opened_height", s.OpenedHeight)
		w.time("opened_time", s.OpenedTime)
		w.value("closed_height", s.ClosedHeight)
		w.value("closed_time", s.ClosedTime)
	})

// rollupSum is a batch's sum of RollupDeltas of one day, member, asset and type.
type rollupSum struct {
	day                time.Time
	member, asset, typ string
	count, failed      int64
	value              pgtype.Numeric
}

// rollupsUpsert adds to the daily rollups; it is never staged.
var rollupsUpsert = newUpsert("daily_rollups", "",
	accumulate("daily_rollups", "day, member, asset, tx_type", "tx_count", "failed_count", "value"),
	func(w *rowWriter, s *rollupSum) {
		w.row()
		w.time("day", s.day)
		w.text("member", s.member)
		w.text("asset", s.asset)
		w.text("tx_type", s.typ)
		w.int8("tx_count", s.count)
		w.int8("failed_count", s.failed)
		w.value("value", s.value)
	})
