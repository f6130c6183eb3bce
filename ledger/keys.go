package ledger

import "encoding/binary"

// Store key prefixes. One byte each, never reused: the keys of every record on disk and in the
// state digest start with one of them.
const (
	prefixParams     byte = 0x01
	prefixMember     byte = 0x02
	prefixAccount    byte = 0x03
	prefixAsset      byte = 0x04
	prefixBalance    byte = 0x05
	prefixSettlement byte = 0x06
	prefixReserves   byte = 0x07
	prefixStats      byte = 0x08
	// prefixMeta holds the commit point (height, app hash, digest); it describes the state
	// rather than being part of it, so it is not folded into the digest.
	prefixMeta byte = 0xF0
	// prefixUndo keeps, per height, the values the block replaced (undo/<height>/<record key>),
	// so that queries can answer at recent past heights. Outside the state, like the meta.
	prefixUndo byte = 0xF1
)

func keyParams() []byte           { return []byte{prefixParams} }
func keyReserves() []byte         { return []byte{prefixReserves} }
func keyMeta() []byte             { return []byte{prefixMeta} }
func keyStats() []byte            { return []byte{prefixStats} }
func keyMember(id string) []byte  { return append([]byte{prefixMember}, id...) }
func keyAsset(sym string) []byte  { return append([]byte{prefixAsset}, sym...) }
func keyAccount(a Address) []byte { return append([]byte{prefixAccount}, a[:]...) }
func keySettlement(h Hash) []byte { return append([]byte{prefixSettlement}, h[:]...) }
func keyBalance(k BalanceKey) []byte {
	b := make([]byte, 0, 1+len(k.Account)+len(k.Asset))
	b = append(b, prefixBalance)
	b = append(b, k.Account[:]...)
	return append(b, k.Asset...)
}

func keyUndoHeight(h int64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixUndo}, uint64(h))
}

func keyUndo(h int64, key []byte) []byte { return append(keyUndoHeight(h), key...) }
