package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Encoder encodes the history rows of blocks (transactions, transfer legs, balance
// history) for COPY ahead of their write, on the caller's goroutine: ledgersync's reader,
// while the writer writes the batch before. pgx's CopyFrom encodes as it sends, on the
// writing goroutine, and the server was measured waiting for it for 40% of a catch-up's
// COPY time. The values are encoded by pgx's own type codecs; this adds only the framing of
// PostgreSQL's binary COPY format around them. An Encoder is not safe for concurrent use.
type Encoder struct {
	types   *pgtype.Map
	oids    [][]uint32 // per appendTables entry: its columns' type OIDs; nil if not encoded
	rowSize []int      // per appendTables entry: the largest encoded row size seen
	vals    [][]any    // rows of the table being encoded, reused
}

// NewEncoder reads the column types of the encoded tables from the database.
func (db *DB) NewEncoder(ctx context.Context) (*Encoder, error) {
	e := &Encoder{types: pgtype.NewMap(), oids: make([][]uint32, len(appendTables)), rowSize: make([]int, len(appendTables))}
	for i, t := range appendTables {
		if !t.bulk {
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
		oids := make([]uint32, len(t.cols))
		for j, c := range t.cols {
			if oids[j] = byName[c]; oids[j] == 0 {
				return nil, fmt.Errorf("column types of %s: no column %s", t.name, c)
			}
		}
		e.oids[i] = oids
	}
	return e, nil
}

// Encode encodes b's history rows and keeps them with b, for WriteBlocks to send as they
// are. A block changed after Encode must be encoded again.
func (e *Encoder) Encode(b *BlockRows) error {
	b.encoded = make([][]byte, len(appendTables))
	for i, t := range appendTables {
		oids := e.oids[i]
		if oids == nil {
			continue
		}
		e.vals = t.rows(b, e.vals[:0])
		if len(e.vals) == 0 {
			continue
		}
		// Every row of a table holds the same Go types, column by column: one plan per
		// column serves them all.
		plans := make([]pgtype.EncodePlan, len(oids))
		for j, v := range e.vals[0] {
			if plans[j] = e.types.PlanEncode(oids[j], pgtype.BinaryFormatCode, v); plans[j] == nil {
				return fmt.Errorf("encode %s.%s: no plan for %T", t.name, t.cols[j], v)
			}
		}
		buf := make([]byte, 0, len(e.vals)*e.rowSize[i])
		for _, row := range e.vals {
			buf = binary.BigEndian.AppendUint16(buf, uint16(len(row)))
			for j, v := range row {
				at := len(buf)
				buf = binary.BigEndian.AppendUint32(buf, 0xFFFFFFFF) // NULL unless a value follows
				out, err := plans[j].Encode(v, buf)
				if err != nil {
					return fmt.Errorf("encode %s.%s at height %d: %w", t.name, t.cols[j], b.Block.Height, err)
				}
				if out != nil {
					buf = out
					binary.BigEndian.PutUint32(buf[at:], uint32(len(buf)-at-4))
				}
			}
		}
		// The next block's buffer starts at this one's row size, so it rarely grows.
		e.rowSize[i] = max(e.rowSize[i], len(buf)/len(e.vals)+1)
		b.encoded[i] = buf
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
	t := appendTables[i]
	cols := make([]string, len(t.cols))
	for j, c := range t.cols {
		cols[j] = pgx.Identifier{c}.Sanitize()
	}
	sql := "COPY " + pgx.Identifier{t.name}.Sanitize() + " (" + strings.Join(cols, ", ") + ") FROM STDIN BINARY"
	if _, err := tx.Conn().PgConn().CopyFrom(ctx, io.MultiReader(parts...), sql); err != nil {
		return fmt.Errorf("copy %s: %w", t.name, err)
	}
	return nil
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
