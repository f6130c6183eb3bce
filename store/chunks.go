package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// MaxChunkChanges is the most changes a balance_chunks row holds: a holding that changes in
// more of a batch's blocks continues in a next row, so that looking up a busy account's
// holding at a height never reads long arrays.
const MaxChunkChanges = 256

// chunkTable is balance_chunks, a row of which is a holding's changes in height order.
var chunkTable = declare("balance_chunks", []*BalanceChange{{}}, chunkFields)

func chunkFields(w *rowWriter, cs *[]*BalanceChange) {
	first, last := (*cs)[0], (*cs)[len(*cs)-1]
	w.row()
	w.time("block_time", first.BlockTime)
	w.int8("height", first.Height)
	w.int8("last_height", last.Height)
	w.bytea("account", first.Account)
	w.text("asset", first.Asset)
	w.changes("heights", *cs, 0)
	w.changes("deltas", *cs, 1)
	w.changes("amounts", *cs, 2)
	w.changes("locked", *cs, 3)
}

// changes writes field f (chunkField) of a row's changes as a bigint[].
func (w *rowWriter) changes(col string, cs []*BalanceChange, f int) {
	if w.collect {
		vals := make([]int64, len(cs))
		for i, c := range cs {
			vals[i] = chunkField(c, f)
		}
		w.vals = append(w.vals, vals)
		w.cols = append(w.cols, column{col, int8Array})
		return
	}
	w.int8ArrayHeader(len(cs))
	for _, c := range cs {
		w.putInt8(chunkField(c, f))
	}
}

// chunkRows are a batch's balance changes grouped into balance_chunks rows: per holding,
// its changes in height order, at most MaxChunkChanges to a row.
type chunkRows struct {
	changes []*BalanceChange // grouped by row: row k's are changes[start[k]:start[k+1]]
	start   []int32
	order   []int32 // rows in key order (account, asset, first height)
}

// chunksOf groups the changes of blocks, in height order, into rows. Each block holds a
// holding's change once, so a row's heights ascend.
func chunksOf(blocks []*BlockRows) *chunkRows {
	n := 0
	for _, b := range blocks {
		n += len(b.Changes)
	}
	rowOf := make([]int32, 0, n)
	var count []int32
	open := map[string]int32{} // holding -> its row being filled
	var key []byte
	for _, b := range blocks {
		for i := range b.Changes {
			c := &b.Changes[i]
			// The account's length first: an account and an asset never read as another pair.
			key = binary.BigEndian.AppendUint16(key[:0], uint16(len(c.Account)))
			key = append(append(key, c.Account...), c.Asset...)
			k, ok := open[string(key)]
			if !ok || count[k] == MaxChunkChanges {
				k = int32(len(count))
				count = append(count, 0)
				open[string(key)] = k
			}
			count[k]++
			rowOf = append(rowOf, k)
		}
	}
	ch := &chunkRows{changes: make([]*BalanceChange, n), start: make([]int32, len(count)+1)}
	for k, c := range count {
		ch.start[k+1] = ch.start[k] + c
	}
	next := slices.Clone(ch.start[:len(count)])
	j := 0
	for _, b := range blocks {
		for i := range b.Changes {
			k := rowOf[j]
			ch.changes[next[k]] = &b.Changes[i]
			next[k]++
			j++
		}
	}
	ch.order = ch.keyOrder()
	return ch
}

// keyOrder sorts the rows in balance_chunks' key order: the key, rebuilt after an initial
// load, then sorts runs already in order, and an index page kept live is visited once per
// batch rather than once per row. The accounts' first 8 bytes decide most comparisons; a
// holding's rows were made in height order.
func (ch *chunkRows) keyOrder() []int32 {
	type pos struct {
		prefix uint64
		k      int32
	}
	perm := make([]pos, len(ch.start)-1)
	for k := range perm {
		// Zero-padded, so that an account shorter than 8 bytes sorts as bytes.Compare has it.
		var p [8]byte
		copy(p[:], ch.first(k).Account)
		perm[k] = pos{binary.BigEndian.Uint64(p[:]), int32(k)}
	}
	slices.SortFunc(perm, func(x, y pos) int {
		if c := cmp.Compare(x.prefix, y.prefix); c != 0 {
			return c
		}
		a, b := ch.first(int(x.k)), ch.first(int(y.k))
		if c := bytes.Compare(a.Account, b.Account); c != 0 {
			return c
		}
		if c := strings.Compare(a.Asset, b.Asset); c != 0 {
			return c
		}
		return cmp.Compare(x.k, y.k)
	})
	out := make([]int32, len(perm))
	for i, p := range perm {
		out[i] = p.k
	}
	return out
}

func (ch *chunkRows) first(k int) *BalanceChange { return ch.changes[ch.start[k]] }

// row returns row k's changes.
func (ch *chunkRows) row(k int32) []*BalanceChange { return ch.changes[ch.start[k]:ch.start[k+1]] }

// write writes the rows in key order.
func (ch *chunkRows) write(w *rowWriter) {
	w.width = len(chunkTable.cols)
	for _, k := range ch.order {
		cs := ch.row(k)
		chunkFields(w, &cs)
	}
}

// chunkField is field f of a change among a row's arrays: height, delta, amount, locked.
func chunkField(c *BalanceChange, f int) int64 {
	switch f {
	case 0:
		return c.Height
	case 1:
		return c.Delta
	case 2:
		return c.Amount
	default:
		return c.Locked
	}
}

// chunkWrite is a batch's balance_chunks rows ready to send: a COPY stream, or the rows
// of an INSERT.
type chunkWrite struct {
	copy []byte
	rows *fieldRows
}

// prepareChunks groups the batch's balance changes into rows and encodes them for COPY if
// useCopy, else for an INSERT.
func prepareChunks(blocks []*BlockRows, useCopy bool) chunkWrite {
	ch := chunksOf(blocks)
	if len(ch.order) == 0 {
		return chunkWrite{}
	}
	if !useCopy {
		w := rowWriter{collect: true, vals: make([]any, 0, len(ch.order)*len(chunkTable.cols))}
		ch.write(&w)
		return chunkWrite{rows: w.values()}
	}
	// About 100 bytes per row beside its arrays' 12 per element, so that the buffer rarely grows.
	buf := make([]byte, 0, len(copyHeader)+100*len(ch.order)+4*(20*len(ch.order)+12*len(ch.changes)))
	w := rowWriter{buf: append(buf, copyHeader...)}
	ch.write(&w)
	return chunkWrite{copy: append(w.buf, copyTrailer...)}
}

// write sends the rows, if any.
func (c chunkWrite) write(ctx context.Context, tx pgx.Tx) error {
	switch {
	case c.copy != nil:
		if err := copyBytes(ctx, tx, chunkTable, bytes.NewReader(c.copy)); err != nil {
			return fmt.Errorf("copy %s: %w", chunkTable.name, err)
		}
	case c.rows != nil:
		return insertRows(ctx, tx, chunkTable.name, chunkTable.cols, c.rows, "")
	}
	return nil
}
