package ledger

// Stateless checks of each body: what a CheckTx can refuse before looking at any state.

func validAmount(what string, v uint64) *TxError {
	if v == 0 {
		return reject(CodeInvalidField, "%s must be positive", what)
	}
	if v > MaxAmount {
		return reject(CodeInvalidField, "%s %d exceeds %d", what, v, uint64(MaxAmount))
	}
	return nil
}

func validAsset(s string) *TxError {
	if !ValidSymbol(s) {
		return reject(CodeInvalidField, "asset symbol %q is ill-formed", s)
	}
	return nil
}

func validMember(what, s string) *TxError {
	if !ValidMemberID(s) {
		return reject(CodeInvalidField, "%s %q is not a member id", what, s)
	}
	return nil
}

func validAddress(what string, a Address) *TxError {
	if a.IsZero() {
		return reject(CodeInvalidField, "%s is missing", what)
	}
	return nil
}

// firstErr returns the first non-nil rejection; it keeps the check order of each body explicit.
func firstErr(errs ...*TxError) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (b *RegisterAccount) validate() error {
	if b.Kind != KindIndividual && b.Kind != KindInstitution {
		return reject(CodeInvalidField, "account kind %d is not individual (1) or institution (2)", b.Kind)
	}
	if b.OwnerRef.IsZero() {
		return reject(CodeInvalidField, "owner ref is missing")
	}
	if b.PubKey == (PubKey{}) {
		return reject(CodeInvalidField, "public key is missing")
	}
	for i, v := range b.Venues {
		if err := validMember("venue", v); err != nil {
			return err
		}
		// Sorted and unique, so that one set of venues has one encoding in state.
		if i > 0 && b.Venues[i-1] >= v {
			return reject(CodeInvalidField, "venues must be sorted and unique")
		}
	}
	return nil
}

func (b *IssueAsset) validate() error {
	switch {
	case !ValidSymbol(b.Symbol):
		return reject(CodeInvalidField, "asset symbol %q is ill-formed", b.Symbol)
	case b.Symbol == CoinSymbol:
		return reject(CodeInvalidField, "%s is the settlement coin", CoinSymbol)
	case b.Name == "":
		return reject(CodeInvalidField, "asset name is missing")
	case b.Class < ClassSecurity || b.Class > ClassLoyalty:
		return reject(CodeInvalidField, "asset class %d cannot be issued", b.Class)
	case (b.Class == ClassSecurity) != (b.Kind != 0):
		return reject(CodeInvalidField, "a security kind goes with, and only with, class security")
	case b.Kind > SecurityOption:
		return reject(CodeInvalidField, "security kind %d is unknown", b.Kind)
	case b.Decimals > 18:
		return reject(CodeInvalidField, "decimals %d exceeds 18", b.Decimals)
	case b.Venue != "" && !ValidMemberID(b.Venue):
		return reject(CodeInvalidField, "venue %q is not a member id", b.Venue)
	case b.PositionLimit > MaxAmount:
		return reject(CodeInvalidField, "position limit exceeds %d", uint64(MaxAmount))
	case b.PositionLimit != 0 && b.Kind != SecurityFuture && b.Kind != SecurityOption:
		return reject(CodeInvalidField, "a position limit applies to futures and options only")
	}
	isCommodity := b.Class == ClassCommodity
	if isCommodity != (b.Commodity != "") || isCommodity != (b.Unit != "") {
		return reject(CodeInvalidField, "commodity and unit go with, and only with, class commodity")
	}
	if isCommodity && !ValidMemberID(b.Warehouse) {
		return reject(CodeInvalidField, "warehouse %q is not a member id", b.Warehouse)
	}
	if !isCommodity && (b.Grade != "" || b.Warehouse != "") {
		return reject(CodeInvalidField, "grade and warehouse go with class commodity only")
	}
	return nil
}

func (b *Mint) validate() error {
	return firstErr(validAsset(b.Asset), validAddress("recipient", b.To), validAmount("amount", b.Amount))
}

func (b *Burn) validate() error {
	return firstErr(validAsset(b.Asset), validAmount("amount", b.Amount))
}

func (b *AttestReserves) validate() error {
	if b.Amount > MaxAmount {
		return reject(CodeInvalidField, "reserve amount exceeds %d", uint64(MaxAmount))
	}
	if b.AsOf <= 0 {
		return reject(CodeInvalidField, "as-of time is missing")
	}
	if b.Report.IsZero() {
		return reject(CodeInvalidField, "report digest is missing")
	}
	return nil
}

func (b *Transfer) validate() error {
	return firstErr(validAddress("recipient", b.To), validAsset(b.Asset), validAmount("amount", b.Amount))
}

func (b *SettleDvP) validate() error {
	if err := firstErr(validMember("venue", b.Venue), validAddress("seller", b.Seller),
		validAddress("buyer", b.Buyer), validAsset(b.Asset), validAmount("quantity", b.Quantity),
		validAmount("cash", b.Cash)); err != nil {
		return err
	}
	if b.Asset == CoinSymbol {
		return reject(CodeInvalidField, "the asset leg cannot be the settlement coin")
	}
	if b.Seller == b.Buyer {
		return reject(CodeSameAccount, "seller and buyer are one account")
	}
	return nil
}

func (b *LockForSettlement) validate() error {
	if err := firstErr(validAddress("buyer", b.Buyer), validAsset(b.Asset),
		validAmount("quantity", b.Quantity), validMember("gateway", b.Gateway),
		validAmount("fiat amount", b.FiatAmount)); err != nil {
		return err
	}
	if b.Deadline <= 0 {
		return reject(CodeInvalidField, "deadline is missing")
	}
	return nil
}

func (b *ConfirmPayment) validate() error {
	if b.Settlement.IsZero() {
		return reject(CodeInvalidField, "settlement id is missing")
	}
	return nil
}

func (b *FailSettlement) validate() error {
	if b.Settlement.IsZero() {
		return reject(CodeInvalidField, "settlement id is missing")
	}
	return nil
}

func validFreezeTarget(acct Address, asset string) error {
	if acct.IsZero() == (asset == "") {
		return reject(CodeInvalidField, "name exactly one of an account or an asset")
	}
	if asset != "" {
		if err := validAsset(asset); err != nil {
			return err
		}
	}
	return nil
}

func (b *Freeze) validate() error   { return validFreezeTarget(b.Account, b.Asset) }
func (b *Unfreeze) validate() error { return validFreezeTarget(b.Account, b.Asset) }
