package ledger

import (
	"crypto/sha256"
	"encoding/binary"
)

// Digest is an additive multiset hash of the whole state (in the manner of LtHash): each
// record (key and canonical value) expands to digestLanes 64-bit lanes, and the digest is their
// lane-wise sum modulo 2^64. Adding and removing a record are O(1), so a block's cost is
// proportional to the records it changes, not to the size of the state, while the digest
// still commits to every record: a node can recompute it from disk at start-up and catch any
// record altered behind its back. Addition commutes, so records can be folded in any order
// and on any number of cores with the same result.
type Digest [digestLanes]uint64

const digestLanes = 16

// digestExpand is how many SHA-256 outputs fill the lanes (4 lanes of 8 bytes each).
const digestExpand = digestLanes / 4

func elementOf(key, value []byte, out *Digest) {
	h := sha256.New()
	var lenBuf [4]byte
	binary.BigEndian.PutUint32(lenBuf[:], uint32(len(key)))
	h.Write(lenBuf[:])
	h.Write(key)
	h.Write(value)
	var seed [33]byte
	h.Sum(seed[:0])
	for i := 0; i < digestExpand; i++ {
		seed[32] = byte(i)
		block := sha256.Sum256(seed[:])
		for j := 0; j < 4; j++ {
			out[i*4+j] = binary.BigEndian.Uint64(block[j*8:])
		}
	}
}

// Add folds a record into the digest.
func (d *Digest) Add(key, value []byte) {
	var e Digest
	elementOf(key, value, &e)
	for i := range d {
		d[i] += e[i]
	}
}

// Remove takes a record out of the digest.
func (d *Digest) Remove(key, value []byte) {
	var e Digest
	elementOf(key, value, &e)
	for i := range d {
		d[i] -= e[i]
	}
}

// Merge adds another digest's records.
func (d *Digest) Merge(o *Digest) {
	for i := range d {
		d[i] += o[i]
	}
}

// Bytes is the digest's fixed encoding.
func (d *Digest) Bytes() []byte {
	out := make([]byte, 0, digestLanes*8)
	for _, l := range d {
		out = binary.BigEndian.AppendUint64(out, l)
	}
	return out
}

func digestFromBytes(b []byte) (Digest, bool) {
	var d Digest
	if len(b) != digestLanes*8 {
		return d, false
	}
	for i := range d {
		d[i] = binary.BigEndian.Uint64(b[i*8:])
	}
	return d, true
}

// AppHash is what the app reports to CometBFT for a state digest.
func (d *Digest) AppHash() []byte {
	h := sha256.New()
	h.Write([]byte("ledgerscope/state/v1\x00"))
	h.Write(d.Bytes())
	return h.Sum(nil)
}
