package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Encoder encodes the history rows of blocks (transactions, settlement legs) for COPY ahead
// of their write, on the caller's goroutine: ledgersync's reader, while the writer writes
// the batch before. The balance history's rows group a whole batch, and are encoded by the
// writer while it sends the others (appendRows). pgx's CopyFrom encodes as it sends, on the
// writing goroutine, and the server was measured waiting for it for 40% of a catch-up's
// COPY time. Each table writes its rows' fields straight into PostgreSQL's binary COPY
// format (copyWriter) rather than through pgx's codecs, which take each value as an any:
// boxing the 35 values of a transaction and its legs and balance rows was most of the
// encoding's 2.9 CPU-seconds per 1M txs. An Encoder is not safe for concurrent use.
type Encoder struct {
	perTx []int // per appendTables entry: the most bytes per tx of a block encoded so far
}

// Column type OIDs of the encoded tables, checked against the database by NewEncoder.
const (
	int2        = pgtype.Int2OID
	int4        = pgtype.Int4OID
	int8        = pgtype.Int8OID
	text        = pgtype.TextOID
	bytea       = pgtype.ByteaOID
	timestamptz = pgtype.TimestamptzOID
)

// NewEncoder checks that the encoded tables' columns (balance_chunks' too) have the types
// their encoders write, so that a migration changing one fails here, plainly, rather than
// in the server's COPY.
func (db *DB) NewEncoder(ctx context.Context) (*Encoder, error) {
	for _, t := range append(slices.Clone(appendTables), chunkTable) {
		if t.types == nil {
			continue
		}
		rows, err := db.Pool.Query(ctx, `SELECT attname, atttypid FROM pg_attribute
			WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`, t.name)
		if err != nil {
			return nil, fmt.Errorf("column types of %s: %w", t.name, err)
		}
		byName := map[string]uint32{}
		var name string
		var oid uint32
		_, err = pgx.ForEachRow(rows, []any{&name, &oid}, func() error {
			byName[name] = oid
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("column types of %s: %w", t.name, err)
		}
		if len(t.types) != len(t.cols) {
			return nil, fmt.Errorf("column types of %s: the encoder writes %d columns of %d", t.name, len(t.types), len(t.cols))
		}
		for j, c := range t.cols {
			if got := byName[c]; got != t.types[j] {
				return nil, fmt.Errorf("column types of %s: %s has type %d, the encoder writes %d", t.name, c, got, t.types[j])
			}
		}
	}
	return &Encoder{perTx: make([]int, len(appendTables))}, nil
}

// Encode encodes b's history rows and keeps them with b, for WriteBlocks to send as they
// are. A block changed after Encode must be encoded again.
func (e *Encoder) Encode(b *BlockRows) error {
	b.encoded = make([][]byte, len(appendTables))
	for i, t := range appendTables {
		if t.encode == nil {
			continue
		}
		w := copyWriter{buf: make([]byte, 0, e.perTx[i]*max(len(b.Txs), 1))}
		t.encode(&w, b)
		if w.rows == 0 {
			continue
		}
		// The next block's buffer starts at about this one's size, so it rarely grows.
		e.perTx[i] = max(e.perTx[i], len(w.buf)/max(len(b.Txs), 1)+1)
		b.encoded[i] = w.buf
	}
	return nil
}

// copyWriter appends rows in the binary COPY format: per row its field count, then per
// field its length (-1 for NULL) and its bytes, as PostgreSQL's int2send, int4send,
// int8send, textsend, byteasend and timestamptz_send write them.
type copyWriter struct {
	buf  []byte
	rows int
}

func (w *copyWriter) row(fields int) {
	w.buf = binary.BigEndian.AppendUint16(w.buf, uint16(fields))
	w.rows++
}

func (w *copyWriter) int2(v int16) {
	w.buf = binary.BigEndian.AppendUint32(w.buf, 2)
	w.buf = binary.BigEndian.AppendUint16(w.buf, uint16(v))
}

func (w *copyWriter) int4(v int32) {
	w.buf = binary.BigEndian.AppendUint32(w.buf, 4)
	w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(v))
}

func (w *copyWriter) int8(v int64) {
	w.buf = binary.BigEndian.AppendUint32(w.buf, 8)
	w.buf = binary.BigEndian.AppendUint64(w.buf, uint64(v))
}

// int8ArrayHeader starts a bigint[] field of n elements, no NULLs, indexed from 1, as
// array_send writes it; the n elements follow, each as int8 writes it.
func (w *copyWriter) int8ArrayHeader(n int) {
	w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(20+12*n))
	w.buf = binary.BigEndian.AppendUint32(w.buf, 1) // dimensions
	w.buf = binary.BigEndian.AppendUint32(w.buf, 0) // no NULLs
	w.buf = binary.BigEndian.AppendUint32(w.buf, pgtype.Int8OID)
	w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(n))
	w.buf = binary.BigEndian.AppendUint32(w.buf, 1) // lower bound
}

// text writes s as it is: the server checks that it is valid in the database's encoding,
// as it does for pgx's text codec, which sends the bytes unchanged too.
func (w *copyWriter) text(s string) {
	w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(len(s)))
	w.buf = append(w.buf, s...)
}

// bytea writes nil as NULL, as pgx does.
func (w *copyWriter) bytea(p []byte) {
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
func (w *copyWriter) time(t time.Time) {
	w.int8(t.Unix()*1_000_000 + int64(t.Nanosecond())/1000 - y2k)
}

// copyHeader and copyTrailer frame a binary COPY stream: the signature, no flags, no
// header extension; a field count of -1.
var (
	copyHeader  = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	copyTrailer = []byte{0xFF, 0xFF}
)

// copyEncoded sends the encoded rows of table i of the blocks, all encoded, in one COPY.
func copyEncoded(ctx context.Context, tx pgx.Tx, i int, blocks []*BlockRows) error {
	parts := []io.Reader{bytes.NewReader(copyHeader)}
	n := 0
	for _, b := range blocks {
		parts = append(parts, bytes.NewReader(b.encoded[i]))
		n += len(b.encoded[i])
	}
	if n == 0 {
		return nil
	}
	parts = append(parts, bytes.NewReader(copyTrailer))
	t := appendTables[i]
	if err := copyBytes(ctx, tx, t, io.MultiReader(parts...)); err != nil {
		return fmt.Errorf("copy %s: %w", t.name, err)
	}
	return nil
}

// copyBytes sends a whole binary COPY stream, header and trailer included, into t's columns.
func copyBytes(ctx context.Context, tx pgx.Tx, t table, r io.Reader) error {
	cols := make([]string, len(t.cols))
	for j, c := range t.cols {
		cols[j] = pgx.Identifier{c}.Sanitize()
	}
	sql := "COPY " + pgx.Identifier{t.name}.Sanitize() + " (" + strings.Join(cols, ", ") + ") FROM STDIN BINARY"
	_, err := tx.Conn().PgConn().CopyFrom(ctx, r, sql)
	return err
}

// allEncoded is true when every block went through an Encoder.
func allEncoded(blocks []*BlockRows) bool {
	for _, b := range blocks {
		if b.encoded == nil {
			return false
		}
	}
	return true
}
