package store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Encoder encodes the history rows of blocks (transactions, settlement legs) for COPY ahead
// of their write, on the caller's goroutine: ledgersync's reader, while the writer writes
// the batch before. The balance history's rows group a whole batch, and are encoded by the
// writer while it sends the others (appendRows). pgx's CopyFrom encodes as it sends, on the
// writing goroutine, and the server was measured waiting for it for 40% of a catch-up's
// COPY time. Each table writes its rows' fields straight into PostgreSQL's binary COPY
// format (rowWriter) rather than through pgx's codecs, which take each value as an any:
// boxing the 35 values of a transaction and its legs and balance rows was most of the
// encoding's 2.9 CPU-seconds per 1M txs. An Encoder is not safe for concurrent use.
type Encoder struct {
	perTx []int // per appendTables entry: the most bytes per tx of a block encoded so far
}

// NewEncoder checks that the encoded tables' columns (balance_chunks' too) have the types
// their encoders write, so that a migration changing one fails here, plainly, rather than
// in the server's COPY.
func (db *DB) NewEncoder(ctx context.Context) (*Encoder, error) {
	checked := []columns{chunkTable}
	for _, t := range appendTables {
		if t.encoded {
			checked = append(checked, t.columns)
		}
	}
	for _, t := range checked {
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
		if !t.encoded {
			continue
		}
		w := rowWriter{buf: make([]byte, 0, e.perTx[i]*max(len(b.Txs), 1))}
		t.write(&w, b)
		if w.rows == 0 {
			continue
		}
		// The next block's buffer starts at about this one's size, so it rarely grows.
		e.perTx[i] = max(e.perTx[i], len(w.buf)/max(len(b.Txs), 1)+1)
		b.encoded[i] = w.buf
	}
	return nil
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
	t := appendTables[i].columns
	if err := copyBytes(ctx, tx, t, io.MultiReader(parts...)); err != nil {
		return fmt.Errorf("copy %s: %w", t.name, err)
	}
	return nil
}

// copyBytes sends a whole binary COPY stream, header and trailer included, into t's columns.
func copyBytes(ctx context.Context, tx pgx.Tx, t columns, r io.Reader) error {
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
