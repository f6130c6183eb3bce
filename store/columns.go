package store

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// A table's columns are declared once, as a function that writes one row's fields in column
// order, each with its column's name (txFields, legFields, ...). A rowWriter runs it either
// to append the row in PostgreSQL's binary COPY format, the hot path of a catch-up, where
// each field is an inlined append that boxes nothing; or to collect the fields with their
// names and types: once at start-up to learn a table's columns (declare), and to give pgx a
// table's values, for a multi-row INSERT and for COPY of the tables not encoded ahead. The
// collecting branch is an append too, so that the methods stay small enough to inline.

// Column type OIDs of the encoded tables, checked against the database by NewEncoder.
const (
	int2        = pgtype.Int2OID
	int4        = pgtype.Int4OID
	int8        = pgtype.Int8OID
	text        = pgtype.TextOID
	bytea       = pgtype.ByteaOID
	timestamptz = pgtype.TimestamptzOID
	int8Array   = pgtype.Int8ArrayOID
)

// rowWriter writes rows field by field. In the binary COPY format a row is its field count,
// then per field its length (-1 for NULL) and its bytes, as PostgreSQL's int2send, int4send,
// int8send, textsend, byteasend, timestamptz_send and array_send write them.
type rowWriter struct {
	collect bool // collect the fields rather than encode them
	width   int  // the columns of the table written, a binary row's field count
	rows    int
	buf     []byte   // encoded rows
	vals    []any    // collected values, rows after one another
	cols    []column // the columns of the row collected last
}

// column is a collected field's column: its name, and its type (0 when it has no binary
// encoding).
type column struct {
	name string
	oid  uint32
}

// row starts a row.
func (w *rowWriter) row() {
	w.rows++
	if !w.collect {
		w.buf = binary.BigEndian.AppendUint16(w.buf, uint16(w.width))
	}
	w.cols = w.cols[:0]
}

// value writes a column that only pgx encodes (arrays of text, numeric, NULLable ones): a
// table with one is never encoded ahead (blockTable).
func (w *rowWriter) value(col string, v any) {
	if !w.collect {
		panic(fmt.Sprintf("store: column %s has no binary encoding", col))
	}
	w.vals = append(w.vals, v)
	w.cols = append(w.cols, column{col, 0})
}

// values returns the collected rows, for pgx.
func (w *rowWriter) values() *fieldRows {
	r := &fieldRows{vals: w.vals, n: w.rows}
	if w.rows > 0 {
		r.width = len(w.vals) / w.rows
	}
	return r
}

// fieldRows are the rows a rowWriter collected, n rows of width values after one another:
// the rows of insertRows, and a pgx.CopyFromSource (once).
type fieldRows struct {
	vals     []any
	width, n int
	next     int
}

var _ pgx.CopyFromSource = (*fieldRows)(nil)

func (r *fieldRows) row(i int) []any { return r.vals[i*r.width : (i+1)*r.width : (i+1)*r.width] }

// Next implements pgx.CopyFromSource.
func (r *fieldRows) Next() bool {
	r.next++
	return r.next <= r.n
}

// Values implements pgx.CopyFromSource.
func (r *fieldRows) Values() ([]any, error) { return r.row(r.next - 1), nil }

// Err implements pgx.CopyFromSource.
func (r *fieldRows) Err() error { return nil }

func (w *rowWriter) int2(col string, v int16) {
	if w.collect {
		w.vals = append(w.vals, v)
		w.cols = append(w.cols, column{col, int2})
		return
	}
	w.buf = binary.BigEndian.AppendUint32(w.buf, 2)
	w.buf = binary.BigEndian.AppendUint16(w.buf, uint16(v))
}

func (w *rowWriter) int4(col string, v int32) {
	if w.collect {
		w.vals = append(w.vals, v)
		w.cols = append(w.cols, column{col, int4})
		return
	}
	w.buf = binary.BigEndian.AppendUint32(w.buf, 4)
	w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(v))
}

func (w *rowWriter) int8(col string, v int64) {
	if w.collect {
		w.vals = append(w.vals, v)
		w.cols = append(w.cols, column{col, int8})
		return
	}
	w.putInt8(v)
}

func (w *rowWriter) putInt8(v int64) {
	w.buf = binary.BigEndian.AppendUint32(w.buf, 8)
	w.buf = binary.BigEndian.AppendUint64(w.buf, uint64(v))
}

// text writes s as it is: the server checks that it is valid in the database's encoding,
// as it does for pgx's text codec, which sends the bytes unchanged too.
func (w *rowWriter) text(col string, s string) {
	if w.collect {
		w.vals = append(w.vals, s)
		w.cols = append(w.cols, column{col, text})
		return
	}
	w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(len(s)))
	w.buf = append(w.buf, s...)
}

// bytea writes nil as NULL, as pgx does.
func (w *rowWriter) bytea(col string, p []byte) {
	if w.collect {
		w.vals = append(w.vals, p)
		w.cols = append(w.cols, column{col, bytea})
		return
	}
	if p == nil {
		w.buf = binary.BigEndian.AppendUint32(w.buf, 0xFFFFFFFF)
		return
	}
	w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(len(p)))
	w.buf = append(w.buf, p...)
}

// y2k is PostgreSQL's timestamp epoch, in microseconds since the Unix one.
const y2k = 946_684_800_000_000

// time writes microseconds since 2000-01-01 UTC: PostgreSQL keeps no finer precision, and
// the nanoseconds below are dropped as pgx drops them.
func (w *rowWriter) time(col string, t time.Time) {
	if w.collect {
		w.vals = append(w.vals, t)
		w.cols = append(w.cols, column{col, timestamptz})
		return
	}
	w.putInt8(t.UnixMicro() - y2k)
}

// int8ArrayHeader starts a bigint[] field of n elements, no NULLs, indexed from 1, as
// array_send writes it; the n elements follow, each as putInt8 writes it.
func (w *rowWriter) int8ArrayHeader(n int) {
	w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(20+12*n))
	w.buf = binary.BigEndian.AppendUint32(w.buf, 1) // dimensions
	w.buf = binary.BigEndian.AppendUint32(w.buf, 0) // no NULLs
	w.buf = binary.BigEndian.AppendUint32(w.buf, pgtype.Int8OID)
	w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(n))
	w.buf = binary.BigEndian.AppendUint32(w.buf, 1) // lower bound
}

// columns are a table's name and its columns' names and types, as its fields function
// declares them.
type columns struct {
	name  string
	cols  []string
	types []uint32
}

// declare runs fields over sample to learn the columns it writes.
func declare[R any](name string, sample R, fields func(*rowWriter, *R)) columns {
	w := rowWriter{collect: true}
	fields(&w, &sample)
	c := columns{name: name}
	for _, f := range w.cols {
		c.cols = append(c.cols, f.name)
		c.types = append(c.types, f.oid)
	}
	return c
}

// encodable is true when every column has a binary encoding.
func (c columns) encodable() bool { return !slices.Contains(c.types, 0) }

// valuesOf returns rows as values for pgx, as fields writes them.
func valuesOf[R any](c columns, rows []R, fields func(*rowWriter, *R)) *fieldRows {
	w := rowWriter{collect: true, vals: make([]any, 0, len(rows)*len(c.cols))}
	for i := range rows {
		fields(&w, &rows[i])
	}
	return w.values()
}
