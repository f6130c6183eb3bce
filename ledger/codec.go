package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// The wire format is deliberately simple so that exactly one byte string encodes each value:
// integers are fixed-width big-endian, strings and byte strings carry a 16-bit length, lists an
// 8-bit count. The decoder rejects anything the encoder would not produce (trailing bytes,
// invalid UTF-8, out-of-range enums), so decode-then-encode is the identity on accepted input.

// ErrMalformed is returned for any byte string that is not a canonical encoding.
var ErrMalformed = errors.New("malformed encoding")

// maxString bounds every length-prefixed field; individual fields have tighter limits.
const maxString = 1<<16 - 1

type encoder struct{ buf []byte }

func (e *encoder) u8(v uint8)   { e.buf = append(e.buf, v) }
func (e *encoder) u64(v uint64) { e.buf = binary.BigEndian.AppendUint64(e.buf, v) }
func (e *encoder) i64(v int64)  { e.u64(uint64(v)) }
func (e *encoder) bool(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}
func (e *encoder) fixed(b []byte) { e.buf = append(e.buf, b...) }
func (e *encoder) str(s string) {
	e.buf = binary.BigEndian.AppendUint16(e.buf, uint16(len(s)))
	e.buf = append(e.buf, s...)
}
func (e *encoder) strs(ss []string) {
	e.u8(uint8(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

// decoder reads canonical encodings; the first error sticks and later reads return zeros, so
// callers check err once at the end.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

func (d *decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.buf) {
		d.fail("%s: need %d bytes, have %d", what, n, len(d.buf))
		return nil
	}
	b := d.buf[:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) u8(what string) uint8 {
	b := d.take(1, what)
	if b == nil {
		return 0
	}
	return b[0]
}

func (d *decoder) u64(what string) uint64 {
	b := d.take(8, what)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func (d *decoder) i64(what string) int64 { return int64(d.u64(what)) }

func (d *decoder) bool(what string) bool {
	switch v := d.u8(what); v {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail("%s: boolean byte %d", what, v)
		return false
	}
}

func (d *decoder) fixed(dst []byte, what string) {
	copy(dst, d.take(len(dst), what))
}

func (d *decoder) str(what string, limit int) string {
	lb := d.take(2, what)
	if lb == nil {
		return ""
	}
	n := int(binary.BigEndian.Uint16(lb))
	if n > limit {
		d.fail("%s: %d bytes exceeds limit %d", what, n, limit)
		return ""
	}
	b := d.take(n, what)
	if b == nil {
		return ""
	}
	if !utf8.Valid(b) {
		d.fail("%s: invalid UTF-8", what)
		return ""
	}
	return string(b)
}

func (d *decoder) strs(what string, maxCount, limit int) []string {
	n := int(d.u8(what))
	if n > maxCount {
		d.fail("%s: %d entries exceeds limit %d", what, n, maxCount)
		return nil
	}
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.str(what, limit)
	}
	return out
}

func (d *decoder) end(what string) error {
	if d.err == nil && len(d.buf) != 0 {
		d.fail("%s: %d trailing bytes", what, len(d.buf))
	}
	return d.err
}
