package ledger

import (
	"strconv"
	"strings"
)

// codecMode is which way an eventCodec runs an event's fields.
type codecMode uint8

const (
	decodeBinary codecMode = iota // the converter's way, for every tx: first in each switch
	encodeBinary
	writeAttrs
	readAttrs
)

// eventCodec runs an event's fields (Event.fields) one of four ways: into or out of the
// canonical binary encoding, or into or out of ABCI attributes. Each field names its
// attribute key, which is also the binary decoder's label in an error, and the binary
// length limit of a string. It is one concrete type with a switch per field rather than an
// interface, so that each field is a direct call. It holds the binary encoder or decoder it
// runs, so that one allocation serves an event list.
type eventCodec struct {
	mode codecMode
	d    decoder
	e    encoder
	w    *attrWriter
	r    *attrReader
}

func (c *eventCodec) addr(k string, a *Address) {
	switch c.mode {
	case decodeBinary:
		c.d.fixed(a[:], k)
	case encodeBinary:
		c.e.fixed(a[:])
	case writeAttrs:
		c.w.addr(k, *a)
	default:
		*a = c.r.addr(k)
	}
}

func (c *eventCodec) hash(k string, h *Hash) {
	switch c.mode {
	case decodeBinary:
		c.d.fixed(h[:], k)
	case encodeBinary:
		c.e.fixed(h[:])
	case writeAttrs:
		c.w.hash(k, *h)
	default:
		*h = c.r.hash(k)
	}
}

// str is a string of at most limit bytes in the binary encoding.
func (c *eventCodec) str(k string, s *string, limit int) {
	switch c.mode {
	case decodeBinary:
		*s = c.d.str(k, limit)
	case encodeBinary:
		c.e.str(*s)
	case writeAttrs:
		c.w.str(k, *s)
	default:
		*s = c.r.str(k)
	}
}

func (c *eventCodec) u64(k string, v *uint64) {
	switch c.mode {
	case decodeBinary:
		*v = c.d.u64(k)
	case encodeBinary:
		c.e.u64(*v)
	case writeAttrs:
		c.w.u64(k, *v)
	default:
		*v = c.r.u64(k)
	}
}

func (c *eventCodec) i64(k string, v *int64) {
	switch c.mode {
	case decodeBinary:
		*v = c.d.i64(k)
	case encodeBinary:
		c.e.i64(*v)
	case writeAttrs:
		c.w.i64(k, *v)
	default:
		*v = c.r.i64(k)
	}
}

func (c *eventCodec) u8(k string, v *uint8) {
	switch c.mode {
	case decodeBinary:
		*v = c.d.u8(k)
	case encodeBinary:
		c.e.u8(*v)
	case writeAttrs:
		c.w.u64(k, uint64(*v))
	default:
		*v = c.r.u8(k)
	}
}

// bool is an attribute that is always there, "true" or "false".
func (c *eventCodec) bool(k string, v *bool) {
	switch c.mode {
	case decodeBinary:
		*v = c.d.bool(k)
	case encodeBinary:
		c.e.bool(*v)
	case writeAttrs:
		c.w.str(k, strconv.FormatBool(*v))
	default:
		b, err := strconv.ParseBool(c.r.str(k))
		c.r.check(k, err)
		*v = b
	}
}

// pubKey is an attribute that is always there.
func (c *eventCodec) pubKey(k string, p *PubKey) {
	switch c.mode {
	case decodeBinary:
		c.d.fixed(p[:], k)
	case encodeBinary:
		c.e.fixed(p[:])
	case writeAttrs:
		c.w.str(k, p.String())
	default:
		pk, err := ParsePubKey(c.r.str(k))
		c.r.check(k, err)
		*p = pk
	}
}

// list is at most maxCount strings of at most limit bytes in the binary encoding, and one
// attribute that joins them with commas.
func (c *eventCodec) list(k string, v *[]string, maxCount, limit int) {
	switch c.mode {
	case decodeBinary:
		*v = c.d.strs(k, maxCount, limit)
	case encodeBinary:
		c.e.strs(*v)
	case writeAttrs:
		c.w.str(k, strings.Join(*v, ","))
	default:
		if s := c.r.str(k); s != "" {
			*v = strings.Split(s, ",")
		}
	}
}

// named is an enumeration: a byte in the binary encoding, an attribute by its name (always
// there, and a name parse refuses is an error).
func named[T ~uint8](c *eventCodec, k string, v *T, name func(T) string, parse func(string) (T, error)) {
	switch c.mode {
	case decodeBinary:
		*v = T(c.d.u8(k))
	case encodeBinary:
		c.e.u8(uint8(*v))
	case writeAttrs:
		c.w.str(k, name(*v))
	default:
		x, err := parse(c.r.str(k))
		c.r.check(k, err)
		*v = x
	}
}
