package ledger

import (
	"crypto/sha256"
	"fmt"
)

// TxType numbers the transaction types. The numbers are part of the wire format and are never
// reused or renumbered.
type TxType uint8

// Transaction types.
const (
	TxRegisterAccount   TxType = 1
	TxIssueAsset        TxType = 2
	TxMint              TxType = 3
	TxBurn              TxType = 4
	TxAttestReserves    TxType = 5
	TxTransfer          TxType = 6
	TxSettleDvP         TxType = 7
	TxLockForSettlement TxType = 8
	TxConfirmPayment    TxType = 9
	TxFailSettlement    TxType = 10
	TxFreeze            TxType = 11
	TxUnfreeze          TxType = 12
	txTypeEnd                  = 13
)

var txTypeNames = [txTypeEnd]string{
	"", "register_account", "issue_asset", "mint", "burn", "attest_reserves", "transfer",
	"settle_dvp", "lock_for_settlement", "confirm_payment", "fail_settlement", "freeze", "unfreeze",
}

func (t TxType) String() string {
	if t > 0 && t < txTypeEnd {
		return txTypeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// ParseTxType reads a type name such as "transfer".
func ParseTxType(s string) (TxType, error) {
	for i := 1; i < txTypeEnd; i++ {
		if txTypeNames[i] == s {
			return TxType(i), nil
		}
	}
	return 0, fmt.Errorf("unknown transaction type %q", s)
}

// Limits of the envelope. MaxTxBytes is also CometBFT's mempool max_tx_bytes.
const (
	MaxTxBytes   = 4096
	MaxChainID   = 50
	MaxMemo      = 256
	MaxSigs      = 2
	maxName      = 128
	maxRef       = 64
	maxVenues    = 8
	wireVersion  = 1
	signatureLen = 64
)

// signDomain separates our signatures from any other use of the same keys.
const signDomain = "ledgerscope/tx/v1\x00"

// Signature is one signer's public key and Ed25519 signature over the tx's sign bytes.
type Signature struct {
	PubKey PubKey
	Sig    [signatureLen]byte
}

// Tx is a signed transaction. The first signature is the signer: its account pays the nonce.
// A second signature co-signs, as the buyer of a DvP does.
type Tx struct {
	ChainID string
	Nonce   uint64
	Memo    string
	Body    Body
	Sigs    []Signature
}

// Body is the type-specific part of a transaction.
type Body interface {
	Type() TxType
	encode(e *encoder)
	decode(d *decoder)
	// validate checks what can be checked without state.
	validate() error
}

// Signer is the address whose nonce the transaction uses.
func (tx *Tx) Signer() Address {
	if len(tx.Sigs) == 0 {
		return Address{}
	}
	return AddressOf(tx.Sigs[0].PubKey)
}

func (tx *Tx) encodeUnsigned(e *encoder) {
	e.u8(wireVersion)
	e.str(tx.ChainID)
	e.u8(uint8(tx.Body.Type()))
	e.u64(tx.Nonce)
	e.str(tx.Memo)
	tx.Body.encode(e)
}

// Encode returns the canonical bytes of the transaction, signatures included.
func (tx *Tx) Encode() []byte {
	e := encoder{buf: make([]byte, 0, 256)}
	tx.encodeUnsigned(&e)
	e.u8(uint8(len(tx.Sigs)))
	for _, s := range tx.Sigs {
		e.fixed(s.PubKey[:])
		e.fixed(s.Sig[:])
	}
	return e.buf
}

// SignBytes is what every signer signs: a digest of the domain and the unsigned encoding, so
// that batch verification hashes 32 bytes per signature rather than the whole tx.
func (tx *Tx) SignBytes() []byte {
	e := encoder{buf: make([]byte, 0, 256)}
	tx.encodeUnsigned(&e)
	return signDigest(e.buf)
}

func signDigest(unsigned []byte) []byte {
	h := sha256.New()
	h.Write([]byte(signDomain))
	h.Write(unsigned)
	return h.Sum(nil)
}

// TxHash is the SHA-256 of the tx bytes, the same hash CometBFT reports for it.
func TxHash(raw []byte) Hash { return sha256.Sum256(raw) }

// DecodedTx is a decoded transaction with what verification needs.
type DecodedTx struct {
	*Tx
	// Digest is the message each signature covers.
	Digest []byte
}

// DecodeTx parses canonical tx bytes. It checks the encoding and the stateless validity of the
// body, not signatures or state.
func DecodeTx(raw []byte) (*DecodedTx, error) {
	tx, unsigned, err := decodeTx(raw)
	if err != nil {
		return nil, err
	}
	return &DecodedTx{Tx: tx, Digest: signDigest(unsigned)}, nil
}

// ParseTx parses canonical tx bytes as DecodeTx does, without the digest the signatures
// cover: for a reader of committed txs, whose signatures the chain checked. Hashing it
// took 0.28 of the 3.4 CPU-s the portal spent converting the bench's 1M txs.
func ParseTx(raw []byte) (*Tx, error) {
	tx, _, err := decodeTx(raw)
	return tx, err
}

// decodeTx parses canonical tx bytes and returns them up to the signatures too.
func decodeTx(raw []byte) (*Tx, []byte, error) {
	if len(raw) > MaxTxBytes {
		return nil, nil, fmt.Errorf("%w: tx of %d bytes exceeds %d", ErrMalformed, len(raw), MaxTxBytes)
	}
	d := decoder{buf: raw}
	if v := d.u8("version"); d.err == nil && v != wireVersion {
		return nil, nil, fmt.Errorf("%w: unknown version %d", ErrMalformed, v)
	}
	tx := &Tx{}
	tx.ChainID = d.str("chain id", MaxChainID)
	typ := TxType(d.u8("type"))
	tx.Nonce = d.u64("nonce")
	tx.Memo = d.str("memo", MaxMemo)
	if d.err != nil {
		return nil, nil, d.err
	}
	body := newBody(typ)
	if body == nil {
		return nil, nil, fmt.Errorf("%w: unknown tx type %d", ErrMalformed, uint8(typ))
	}
	body.decode(&d)
	if d.err != nil {
		return nil, nil, d.err
	}
	tx.Body = body
	unsigned := raw[:len(raw)-len(d.buf)]
	n := int(d.u8("signature count"))
	if d.err == nil && (n < 1 || n > MaxSigs) {
		return nil, nil, fmt.Errorf("%w: %d signatures, want 1 to %d", ErrMalformed, n, MaxSigs)
	}
	tx.Sigs = make([]Signature, n)
	for i := range tx.Sigs {
		d.fixed(tx.Sigs[i].PubKey[:], "signature key")
		d.fixed(tx.Sigs[i].Sig[:], "signature")
	}
	if err := d.end("tx"); err != nil {
		return nil, nil, err
	}
	if n == 2 && tx.Sigs[0].PubKey == tx.Sigs[1].PubKey {
		return nil, nil, fmt.Errorf("%w: the same key signs twice", ErrMalformed)
	}
	if tx.ChainID == "" {
		return nil, nil, fmt.Errorf("%w: empty chain id", ErrMalformed)
	}
	return tx, unsigned, nil
}

func newBody(t TxType) Body {
	switch t {
	case TxRegisterAccount:
		return &RegisterAccount{}
	case TxIssueAsset:
		return &IssueAsset{}
	case TxMint:
		return &Mint{}
	case TxBurn:
		return &Burn{}
	case TxAttestReserves:
		return &AttestReserves{}
	case TxTransfer:
		return &Transfer{}
	case TxSettleDvP:
		return &SettleDvP{}
	case TxLockForSettlement:
		return &LockForSettlement{}
	case TxConfirmPayment:
		return &ConfirmPayment{}
	case TxFailSettlement:
		return &FailSettlement{}
	case TxFreeze:
		return &Freeze{}
	case TxUnfreeze:
		return &Unfreeze{}
	}
	return nil
}
