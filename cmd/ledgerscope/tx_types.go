package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// strFlag declares a string flag of a tx subcommand.
func strFlag(p *string, name, usage string) func(*cobra.Command) {
	return func(c *cobra.Command) { c.Flags().StringVar(p, name, "", usage) }
}

// allFlags declares every flag of fs.
func allFlags(fs ...func(*cobra.Command)) func(*cobra.Command) {
	return func(c *cobra.Command) {
		for _, f := range fs {
			f(c)
		}
	}
}

// txMoveCmd is a subcommand that moves --amount of --asset to --to: transfer and mint.
func txMoveCmd(f *txFlags, use, short string, body func(to ledger.Address, asset string, amount uint64) ledger.Body) *cobra.Command {
	var to, asset, amount string
	return txSub(f, use, short,
		allFlags(strFlag(&to, "to", "recipient"), strFlag(&asset, "asset", "asset symbol"), strFlag(&amount, "amount", "amount")),
		func(b *txBuilder) (ledger.Body, error) {
			return body(b.address("to", to), asset, b.amount("amount", amount, asset)), nil
		})
}

func txRegisterAccountCmd(f *txFlags) *cobra.Command {
	var pubkey, kind, owner, venues string
	return txSub(f, "register-account", "Open an account for a public key (signed by a member's operator)",
		allFlags(strFlag(&pubkey, "pubkey", "hex public key, or a key name"), strFlag(&kind, "kind", "individual or institution"),
			strFlag(&owner, "owner", "beneficial owner identity; only its salted hash goes on chain"),
			strFlag(&venues, "venues", "comma-separated exchanges authorised to settle DvP")),
		func(b *txBuilder) (ledger.Body, error) {
			pk, err := ledger.ParsePubKey(pubkey)
			if err != nil {
				k, kerr := b.ring.Get(pubkey)
				if kerr != nil {
					return nil, fmt.Errorf("--pubkey: %w", err)
				}
				pk = k.PubKey()
			}
			k, err := ledger.ParseAccountKind(kind)
			if err != nil {
				return nil, err
			}
			if owner == "" {
				return nil, fmt.Errorf("--owner is required")
			}
			var vs []string
			if venues != "" {
				vs = strings.Split(venues, ",")
			}
			return &ledger.RegisterAccount{PubKey: pk, Kind: k, OwnerRef: ledger.OwnerRef(owner), Venues: vs}, nil
		})
}

func txIssueAssetCmd(f *txFlags) *cobra.Command {
	var (
		symbol, name, class, skind, venue, commodity, grade, warehouse, unit string
		decimals                                                             uint8
		posLimit                                                             uint64
	)
	return txSub(f, "issue-asset", "Create an asset with zero supply, issued by the signer's member",
		allFlags(strFlag(&symbol, "symbol", "asset symbol"), strFlag(&name, "name", "asset name"),
			strFlag(&class, "class", "security, commodity, right or loyalty"),
			strFlag(&skind, "security-kind", "stock, bond, fund, future or option"),
			func(c *cobra.Command) { c.Flags().Uint8Var(&decimals, "decimals", 0, "decimal places") },
			strFlag(&venue, "venue", "listing exchange"), strFlag(&commodity, "commodity", "commodity (receipts)"),
			strFlag(&grade, "grade", "grade (receipts)"), strFlag(&warehouse, "warehouse", "custodian member (receipts)"),
			strFlag(&unit, "unit", "unit (receipts)"),
			func(c *cobra.Command) {
				c.Flags().Uint64Var(&posLimit, "position-limit", 0, "per-owner open position limit (futures, options)")
			}),
		func(*txBuilder) (ledger.Body, error) {
			cl, err := ledger.ParseAssetClass(class)
			if err != nil {
				return nil, err
			}
			sk, err := ledger.ParseSecurityKind(skind)
			if err != nil {
				return nil, err
			}
			return &ledger.IssueAsset{Symbol: symbol, Name: name, Class: cl, Kind: sk, Decimals: decimals,
				Venue: venue, Commodity: commodity, Grade: grade, Warehouse: warehouse, Unit: unit, PositionLimit: posLimit}, nil
		})
}

func txBurnCmd(f *txFlags) *cobra.Command {
	var asset, amount string
	return txSub(f, "burn", "Destroy supply from the signer's balance (the issuer's operator)",
		allFlags(strFlag(&asset, "asset", "asset symbol"), strFlag(&amount, "amount", "amount")),
		func(b *txBuilder) (ledger.Body, error) {
			return &ledger.Burn{Asset: asset, Amount: b.amount("amount", amount, asset)}, nil
		})
}

func txAttestReservesCmd(f *txFlags) *cobra.Command {
	var (
		amount, report string
		asOf           int64
	)
	return txSub(f, "attest-reserves", "State the fiat reserve behind the coin (the settlement bank)",
		allFlags(strFlag(&amount, "amount", "reserve in yuan"), strFlag(&report, "report", "hex SHA-256 of the auditor's report (required)"),
			func(c *cobra.Command) {
				c.Flags().Int64Var(&asOf, "as-of", 0, "unix time of the attested balance (default now)")
				_ = c.MarkFlagRequired("report")
			}),
		func(b *txBuilder) (ledger.Body, error) {
			v := b.amount("amount", amount, ledger.CoinSymbol)
			h := b.hash("report", report)
			if asOf == 0 {
				asOf = time.Now().Unix()
			}
			return &ledger.AttestReserves{Amount: v, AsOf: asOf, Report: h}, nil
		})
}

func txSettleDvPCmd(f *txFlags) *cobra.Command {
	var venue, seller, buyer, asset, qty, cash, ref string
	return txSub(f, "settle-dvp", "Settle a trade: asset from seller to buyer against coin (both parties sign, or the venue)",
		allFlags(strFlag(&venue, "venue", "exchange"), strFlag(&seller, "seller", "seller"), strFlag(&buyer, "buyer", "buyer"),
			strFlag(&asset, "asset", "asset symbol"), strFlag(&qty, "quantity", "quantity of the asset"),
			strFlag(&cash, "cash", "price in CNYS"), strFlag(&ref, "ref", "trade reference")),
		func(b *txBuilder) (ledger.Body, error) {
			return &ledger.SettleDvP{Venue: venue, Seller: b.address("seller", seller), Buyer: b.address("buyer", buyer), Asset: asset,
				Quantity: b.amount("quantity", qty, asset), Cash: b.amount("cash", cash, ledger.CoinSymbol), TradeRef: ref}, nil
		})
}

func txLockForSettlementCmd(f *txFlags) *cobra.Command {
	var buyer, asset, qty, gateway, fiat, deadline, ref string
	return txSub(f, "lock-for-settlement", "Lock an asset for a buyer until a gateway confirms the fiat payment",
		allFlags(strFlag(&buyer, "buyer", "buyer"), strFlag(&asset, "asset", "asset symbol"), strFlag(&qty, "quantity", "quantity"),
			strFlag(&gateway, "gateway", "gateway member"), strFlag(&fiat, "fiat", "fiat amount in yuan"),
			strFlag(&deadline, "deadline", "how long the gateway has, e.g. 2h"), strFlag(&ref, "ref", "reference")),
		func(b *txBuilder) (ledger.Body, error) {
			bu, q := b.address("buyer", buyer), b.amount("quantity", qty, asset)
			if b.err != nil {
				return nil, b.err
			}
			fv, err := positiveAmount("fiat", fiat, ledger.CoinDecimals)
			if err != nil {
				return nil, err
			}
			d, err := time.ParseDuration(deadline)
			if err != nil {
				return nil, fmt.Errorf("--deadline: %w", err)
			}
			return &ledger.LockForSettlement{Buyer: bu, Asset: asset, Quantity: q, Gateway: gateway,
				FiatAmount: fv, Deadline: time.Now().Add(d).Unix(), Ref: ref}, nil
		})
}

func txConfirmPaymentCmd(f *txFlags) *cobra.Command {
	var settlement, ref string
	return txSub(f, "confirm-payment", "Confirm a gateway settlement's fiat payment (the gateway)",
		allFlags(strFlag(&settlement, "settlement", "settlement id (the lock tx hash)"), strFlag(&ref, "ref", "payment reference")),
		func(b *txBuilder) (ledger.Body, error) {
			return &ledger.ConfirmPayment{Settlement: b.hash("settlement", settlement), PaymentRef: ref}, nil
		})
}

func txFailSettlementCmd(f *txFlags) *cobra.Command {
	var settlement, reason string
	return txSub(f, "fail-settlement", "Fail a gateway settlement: the asset returns to the seller (the gateway)",
		allFlags(strFlag(&settlement, "settlement", "settlement id"), strFlag(&reason, "reason", "why")),
		func(b *txBuilder) (ledger.Body, error) {
			return &ledger.FailSettlement{Settlement: b.hash("settlement", settlement), Reason: reason}, nil
		})
}

// txFreezeCmd is a subcommand on an --account or an --asset with a --reason: freeze and
// unfreeze; verb says what is done to them in the flags' help.
func txFreezeCmd(f *txFlags, use, short, verb string, body func(account ledger.Address, asset, reason string) ledger.Body) *cobra.Command {
	var account, asset, reason string
	return txSub(f, use, short,
		allFlags(strFlag(&account, "account", "account to "+verb), strFlag(&asset, "asset", "asset to "+verb), strFlag(&reason, "reason", "why")),
		func(b *txBuilder) (ledger.Body, error) {
			return body(freezeTarget(b, account), asset, reason), nil
		})
}

// freezeTarget is the account a freeze names, or none when it names an asset.
func freezeTarget(b *txBuilder, account string) ledger.Address {
	if account == "" {
		return ledger.Address{}
	}
	return b.address("account", account)
}
