package ledger

// RegisterAccount opens an account for a key. The signer must be a member's operator: that
// member sponsors the account and vouches for its KYC. Venues lists the exchanges the account
// authorises, once and for all, to settle DvP trades on its behalf.
type RegisterAccount struct {
	PubKey   PubKey
	Kind     AccountKind
	OwnerRef Hash // salted hash of the beneficial owner's identity
	Venues   []string
}

// IssueAsset creates an asset with zero supply; the signer's member is its issuer.
type IssueAsset struct {
	Symbol        string
	Name          string
	Class         AssetClass
	Kind          SecurityKind
	Decimals      uint8
	Venue         string // listing venue (an exchange member), optional
	Commodity     string // commodity receipts only
	Grade         string
	Warehouse     string
	Unit          string
	PositionLimit uint64 // futures and options: per-owner open position limit, 0 for none
}

// Mint creates supply of an asset in an account; only the issuer's operator may.
type Mint struct {
	Asset  string
	To     Address
	Amount uint64
}

// Burn destroys supply from the signer's own balance; only the issuer's operator may, so a
// holder redeems by transferring to the issuer first.
type Burn struct {
	Asset  string
	Amount uint64
}

// AttestReserves is the settlement bank's statement of the fiat reserve behind the coin.
type AttestReserves struct {
	Amount uint64 // in the coin's smallest unit (fen)
	AsOf   int64  // unix seconds of the attested balance
	Report Hash   // digest of the auditor's report
}

// Transfer moves an asset from the signer to another account.
type Transfer struct {
	To     Address
	Asset  string
	Amount uint64
}

// SettleDvP settles a trade atomically: the asset from seller to buyer, the coin from buyer to
// seller. It is signed by both parties, or by the venue's operator when both parties have
// authorised that venue.
type SettleDvP struct {
	Venue    string
	Seller   Address
	Buyer    Address
	Asset    string
	Quantity uint64
	Cash     uint64 // settlement coin, smallest unit
	TradeRef string
}

// LockForSettlement locks the signer's asset for a buyer until the gateway confirms the fiat
// payment, or the deadline passes and the asset returns to the seller. The settlement id is
// the hash of this transaction.
type LockForSettlement struct {
	Buyer      Address
	Asset      string
	Quantity   uint64
	Gateway    string
	FiatAmount uint64 // fen
	Deadline   int64  // unix seconds, block time
	Ref        string
}

// ConfirmPayment is the gateway's word that the fiat payment arrived: the locked asset goes to
// the buyer.
type ConfirmPayment struct {
	Settlement Hash
	PaymentRef string
}

// FailSettlement is the gateway's word that the payment will not come: the locked asset returns
// to its seller. Past the deadline the ledger fails the settlement by itself.
type FailSettlement struct {
	Settlement Hash
	Reason     string
}

// Freeze is the regulator's order to stop an account or an asset; exactly one is named.
type Freeze struct {
	Account Address
	Asset   string
	Reason  string
}

// Unfreeze lifts a freeze; exactly one of account or asset is named.
type Unfreeze struct {
	Account Address
	Asset   string
	Reason  string
}

// Type implementations.

// Type is TxRegisterAccount.
func (*RegisterAccount) Type() TxType { return TxRegisterAccount }

// Type is TxIssueAsset.
func (*IssueAsset) Type() TxType { return TxIssueAsset }

// Type is TxMint.
func (*Mint) Type() TxType { return TxMint }

// Type is TxBurn.
func (*Burn) Type() TxType { return TxBurn }

// Type is TxAttestReserves.
func (*AttestReserves) Type() TxType { return TxAttestReserves }

// Type is TxTransfer.
func (*Transfer) Type() TxType { return TxTransfer }

// Type is TxSettleDvP.
func (*SettleDvP) Type() TxType { return TxSettleDvP }

// Type is TxLockForSettlement.
func (*LockForSettlement) Type() TxType { return TxLockForSettlement }

// Type is TxConfirmPayment.
func (*ConfirmPayment) Type() TxType { return TxConfirmPayment }

// Type is TxFailSettlement.
func (*FailSettlement) Type() TxType { return TxFailSettlement }

// Type is TxFreeze.
func (*Freeze) Type() TxType { return TxFreeze }

// Type is TxUnfreeze.
func (*Unfreeze) Type() TxType { return TxUnfreeze }

// Encodings: fields in declaration order.

func (b *RegisterAccount) encode(e *encoder) {
	e.fixed(b.PubKey[:])
	e.u8(uint8(b.Kind))
	e.fixed(b.OwnerRef[:])
	e.strs(b.Venues)
}

func (b *RegisterAccount) decode(d *decoder) {
	d.fixed(b.PubKey[:], "pubkey")
	b.Kind = AccountKind(d.u8("kind"))
	d.fixed(b.OwnerRef[:], "owner ref")
	b.Venues = d.strs("venues", maxVenues, 8)
}

func (b *IssueAsset) encode(e *encoder) {
	e.str(b.Symbol)
	e.str(b.Name)
	e.u8(uint8(b.Class))
	e.u8(uint8(b.Kind))
	e.u8(b.Decimals)
	e.str(b.Venue)
	e.str(b.Commodity)
	e.str(b.Grade)
	e.str(b.Warehouse)
	e.str(b.Unit)
	e.u64(b.PositionLimit)
}

func (b *IssueAsset) decode(d *decoder) {
	b.Symbol = d.str("symbol", 24)
	b.Name = d.str("name", maxName)
	b.Class = AssetClass(d.u8("class"))
	b.Kind = SecurityKind(d.u8("security kind"))
	b.Decimals = d.u8("decimals")
	b.Venue = d.str("venue", 8)
	b.Commodity = d.str("commodity", maxName)
	b.Grade = d.str("grade", maxRef)
	b.Warehouse = d.str("warehouse", 8)
	b.Unit = d.str("unit", maxRef)
	b.PositionLimit = d.u64("position limit")
}

func (b *Mint) encode(e *encoder) { e.str(b.Asset); e.fixed(b.To[:]); e.u64(b.Amount) }
func (b *Mint) decode(d *decoder) {
	b.Asset = d.str("asset", 24)
	d.fixed(b.To[:], "to")
	b.Amount = d.u64("amount")
}

func (b *Burn) encode(e *encoder) { e.str(b.Asset); e.u64(b.Amount) }
func (b *Burn) decode(d *decoder) { b.Asset = d.str("asset", 24); b.Amount = d.u64("amount") }

func (b *AttestReserves) encode(e *encoder) { e.u64(b.Amount); e.i64(b.AsOf); e.fixed(b.Report[:]) }
func (b *AttestReserves) decode(d *decoder) {
	b.Amount = d.u64("amount")
	b.AsOf = d.i64("as of")
	d.fixed(b.Report[:], "report")
}

func (b *Transfer) encode(e *encoder) { e.fixed(b.To[:]); e.str(b.Asset); e.u64(b.Amount) }
func (b *Transfer) decode(d *decoder) {
	d.fixed(b.To[:], "to")
	b.Asset = d.str("asset", 24)
	b.Amount = d.u64("amount")
}

func (b *SettleDvP) encode(e *encoder) {
	e.str(b.Venue)
	e.fixed(b.Seller[:])
	e.fixed(b.Buyer[:])
	e.str(b.Asset)
	e.u64(b.Quantity)
	e.u64(b.Cash)
	e.str(b.TradeRef)
}

func (b *SettleDvP) decode(d *decoder) {
	b.Venue = d.str("venue", 8)
	d.fixed(b.Seller[:], "seller")
	d.fixed(b.Buyer[:], "buyer")
	b.Asset = d.str("asset", 24)
	b.Quantity = d.u64("quantity")
	b.Cash = d.u64("cash")
	b.TradeRef = d.str("trade ref", maxRef)
}

func (b *LockForSettlement) encode(e *encoder) {
	e.fixed(b.Buyer[:])
	e.str(b.Asset)
	e.u64(b.Quantity)
	e.str(b.Gateway)
	e.u64(b.FiatAmount)
	e.i64(b.Deadline)
	e.str(b.Ref)
}

func (b *LockForSettlement) decode(d *decoder) {
	d.fixed(b.Buyer[:], "buyer")
	b.Asset = d.str("asset", 24)
	b.Quantity = d.u64("quantity")
	b.Gateway = d.str("gateway", 8)
	b.FiatAmount = d.u64("fiat amount")
	b.Deadline = d.i64("deadline")
	b.Ref = d.str("ref", maxRef)
}

func (b *ConfirmPayment) encode(e *encoder) { e.fixed(b.Settlement[:]); e.str(b.PaymentRef) }
func (b *ConfirmPayment) decode(d *decoder) {
	d.fixed(b.Settlement[:], "settlement")
	b.PaymentRef = d.str("payment ref", maxRef)
}

func (b *FailSettlement) encode(e *encoder) { e.fixed(b.Settlement[:]); e.str(b.Reason) }
func (b *FailSettlement) decode(d *decoder) {
	d.fixed(b.Settlement[:], "settlement")
	b.Reason = d.str("reason", maxName)
}

func encodeFreeze(e *encoder, acct Address, asset, reason string) {
	e.fixed(acct[:])
	e.str(asset)
	e.str(reason)
}

func decodeFreeze(d *decoder, acct *Address, asset, reason *string) {
	d.fixed(acct[:], "account")
	*asset = d.str("asset", 24)
	*reason = d.str("reason", maxName)
}

func (b *Freeze) encode(e *encoder)   { encodeFreeze(e, b.Account, b.Asset, b.Reason) }
func (b *Freeze) decode(d *decoder)   { decodeFreeze(d, &b.Account, &b.Asset, &b.Reason) }
func (b *Unfreeze) encode(e *encoder) { encodeFreeze(e, b.Account, b.Asset, b.Reason) }
func (b *Unfreeze) decode(d *decoder) { decodeFreeze(d, &b.Account, &b.Asset, &b.Reason) }
