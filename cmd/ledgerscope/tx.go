package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/keyring"
	"github.com/ledgerscope/ledgerscope/ledger"
)

// txFlags are the flags every tx subcommand shares.
type txFlags struct {
	home    string
	node    string
	from    string
	cosign  string
	memo    string
	chainID string
	nonce   uint64
	print   bool
}

// txBuilder resolves the command line's names into ledger values.
type txBuilder struct {
	ctx    context.Context
	flags  *txFlags
	ring   *keyring.Ring
	client *ledgerClient
}

// address accepts a 40-digit hex address or the name of a key in the ring.
func (b *txBuilder) address(what, s string) (ledger.Address, error) {
	if s == "" {
		return ledger.Address{}, fmt.Errorf("--%s is required", what)
	}
	a, err := namedAddress(b.ring, s)
	if err != nil {
		return ledger.Address{}, fmt.Errorf("--%s: %w", what, err)
	}
	return a, nil
}

// amount reads a decimal amount in the asset's units, asking the node for its decimals.
func (b *txBuilder) amount(what, s, asset string) (uint64, error) {
	if s == "" {
		return 0, fmt.Errorf("--%s is required", what)
	}
	dec, err := b.client.decimals(b.ctx, asset)
	if err != nil {
		return 0, err
	}
	v, err := ledger.ParseAmount(s, dec)
	if err != nil {
		return 0, fmt.Errorf("--%s: %w", what, err)
	}
	return v, nil
}

func (b *txBuilder) hash(what, s string) (ledger.Hash, error) {
	h, err := ledger.ParseHash(s)
	if err != nil {
		return h, fmt.Errorf("--%s: %w", what, err)
	}
	return h, nil
}

// send signs the body with --from (and --cosign) and broadcasts it, or prints it.
func (b *txBuilder) send(cmd *cobra.Command, body ledger.Body) error {
	from, err := b.ring.Get(b.flags.from)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	keys := []ed25519.PrivateKey{from.Private}
	if b.flags.cosign != "" {
		co, err := b.ring.Get(b.flags.cosign)
		if err != nil {
			return fmt.Errorf("--cosign: %w", err)
		}
		keys = append(keys, co.Private)
	}
	tx := &ledger.Tx{ChainID: b.flags.chainID, Nonce: b.flags.nonce, Memo: b.flags.memo, Body: body}
	if tx.ChainID == "" {
		if tx.ChainID, err = b.client.chainID(b.ctx); err != nil {
			return err
		}
	}
	if tx.Nonce == 0 {
		if tx.Nonce, err = b.client.nextNonce(b.ctx, from.Address()); err != nil {
			return err
		}
	}
	raw := tx.Sign(keys...)
	if b.flags.print {
		fmt.Fprintln(cmd.OutOrStdout(), hex.EncodeToString(raw))
		return nil
	}
	return b.client.broadcast(b.ctx, raw, cmd.OutOrStdout())
}

// txSub makes one tx subcommand: flags declares its own flags, build turns them into a body.
func txSub(shared *txFlags, use, short string, flags func(*cobra.Command), build func(*txBuilder) (ledger.Body, error)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := dialNode(shared.node)
			if err != nil {
				return err
			}
			b := &txBuilder{ctx: cmd.Context(), flags: shared, ring: keyring.Open(filepath.Join(shared.home, "keys")), client: client}
			body, err := build(b)
			if err != nil {
				return err
			}
			return b.send(cmd, body)
		},
	}
	flags(cmd)
	return cmd
}

func newTxCmd() *cobra.Command {
	f := &txFlags{}
	cmd := &cobra.Command{
		Use:   "tx",
		Short: "Build, sign and broadcast a transaction, and print its result",
		Long: `Build, sign and broadcast a transaction, and print its result.

Accounts are given as 40-digit hex addresses or as names of keys in <home>/keys; amounts as
decimals in the asset's units (12.50 CNYS is 1250 fen). The nonce and chain id are read from
the node unless given.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.home, "home", "var/devnet", "directory whose keys/ holds the signing keys")
	pf.StringVar(&f.node, "node", defaultNode, "CometBFT RPC address of a node")
	pf.StringVar(&f.from, "from", "", "name of the signing key (pays the nonce)")
	pf.StringVar(&f.cosign, "cosign", "", "name of a co-signing key (the other party of a DvP)")
	pf.StringVar(&f.memo, "memo", "", "free text recorded with the tx (up to 256 bytes)")
	pf.StringVar(&f.chainID, "chain-id", "", "chain id (default: the node's)")
	pf.Uint64Var(&f.nonce, "nonce", 0, "nonce (default: the account's next)")
	pf.BoolVar(&f.print, "print", false, "print the signed tx as hex instead of broadcasting it")
	_ = cmd.MarkPersistentFlagRequired("from")

	var (
		to, asset, amount, pubkey, kind, owner, venues, symbol, name, class, skind string
		venue, commodity, grade, warehouse, unit, seller, buyer, qty, cash         string
		gateway, fiat, ref, settlement, reason, account, report, deadline          string
		decimals                                                                   uint8
		posLimit                                                                   uint64
		asOf                                                                       int64
	)
	str := func(p *string, name, usage string) func(*cobra.Command) {
		return func(c *cobra.Command) { c.Flags().StringVar(p, name, "", usage) }
	}
	all := func(fs ...func(*cobra.Command)) func(*cobra.Command) {
		return func(c *cobra.Command) {
			for _, f := range fs {
				f(c)
			}
		}
	}
	cmd.AddCommand(
		txSub(f, "transfer", "Move an asset from --from to another account",
			all(str(&to, "to", "recipient"), str(&asset, "asset", "asset symbol"), str(&amount, "amount", "amount")),
			func(b *txBuilder) (ledger.Body, error) {
				toA, err := b.address("to", to)
				if err != nil {
					return nil, err
				}
				v, err := b.amount("amount", amount, asset)
				return &ledger.Transfer{To: toA, Asset: asset, Amount: v}, err
			}),
		txSub(f, "register-account", "Open an account for a public key (signed by a member's operator)",
			all(str(&pubkey, "pubkey", "hex public key, or a key name"), str(&kind, "kind", "individual or institution"),
				str(&owner, "owner", "beneficial owner identity; only its salted hash goes on chain"),
				str(&venues, "venues", "comma-separated exchanges authorised to settle DvP")),
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
			}),
		txSub(f, "issue-asset", "Create an asset with zero supply, issued by the signer's member",
			all(str(&symbol, "symbol", "asset symbol"), str(&name, "name", "asset name"),
				str(&class, "class", "security, commodity, right or loyalty"),
				str(&skind, "security-kind", "stock, bond, fund, future or option"),
				func(c *cobra.Command) { c.Flags().Uint8Var(&decimals, "decimals", 0, "decimal places") },
				str(&venue, "venue", "listing exchange"), str(&commodity, "commodity", "commodity (receipts)"),
				str(&grade, "grade", "grade (receipts)"), str(&warehouse, "warehouse", "custodian member (receipts)"),
				str(&unit, "unit", "unit (receipts)"),
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
			}),
		txSub(f, "mint", "Create supply in an account (the issuer's operator)",
			all(str(&to, "to", "recipient"), str(&asset, "asset", "asset symbol"), str(&amount, "amount", "amount")),
			func(b *txBuilder) (ledger.Body, error) {
				toA, err := b.address("to", to)
				if err != nil {
					return nil, err
				}
				v, err := b.amount("amount", amount, asset)
				return &ledger.Mint{Asset: asset, To: toA, Amount: v}, err
			}),
		txSub(f, "burn", "Destroy supply from the signer's balance (the issuer's operator)",
			all(str(&asset, "asset", "asset symbol"), str(&amount, "amount", "amount")),
			func(b *txBuilder) (ledger.Body, error) {
				v, err := b.amount("amount", amount, asset)
				return &ledger.Burn{Asset: asset, Amount: v}, err
			}),
		txSub(f, "attest-reserves", "State the fiat reserve behind the coin (the settlement bank)",
			all(str(&amount, "amount", "reserve in yuan"), str(&report, "report", "hex SHA-256 of the auditor's report"),
				func(c *cobra.Command) {
					c.Flags().Int64Var(&asOf, "as-of", 0, "unix time of the attested balance (default now)")
				}),
			func(b *txBuilder) (ledger.Body, error) {
				v, err := b.amount("amount", amount, ledger.CoinSymbol)
				if err != nil {
					return nil, err
				}
				h, err := b.hash("report", report)
				if asOf == 0 {
					asOf = time.Now().Unix()
				}
				return &ledger.AttestReserves{Amount: v, AsOf: asOf, Report: h}, err
			}),
		txSub(f, "settle-dvp", "Settle a trade: asset from seller to buyer against coin (both parties sign, or the venue)",
			all(str(&venue, "venue", "exchange"), str(&seller, "seller", "seller"), str(&buyer, "buyer", "buyer"),
				str(&asset, "asset", "asset symbol"), str(&qty, "quantity", "quantity of the asset"),
				str(&cash, "cash", "price in CNYS"), str(&ref, "ref", "trade reference")),
			func(b *txBuilder) (ledger.Body, error) {
				s, err := b.address("seller", seller)
				if err != nil {
					return nil, err
				}
				bu, err := b.address("buyer", buyer)
				if err != nil {
					return nil, err
				}
				q, err := b.amount("quantity", qty, asset)
				if err != nil {
					return nil, err
				}
				c, err := b.amount("cash", cash, ledger.CoinSymbol)
				return &ledger.SettleDvP{Venue: venue, Seller: s, Buyer: bu, Asset: asset, Quantity: q, Cash: c, TradeRef: ref}, err
			}),
		txSub(f, "lock-for-settlement", "Lock an asset for a buyer until a gateway confirms the fiat payment",
			all(str(&buyer, "buyer", "buyer"), str(&asset, "asset", "asset symbol"), str(&qty, "quantity", "quantity"),
				str(&gateway, "gateway", "gateway member"), str(&fiat, "fiat", "fiat amount in yuan"),
				str(&deadline, "deadline", "how long the gateway has, e.g. 2h"), str(&ref, "ref", "reference")),
			func(b *txBuilder) (ledger.Body, error) {
				bu, err := b.address("buyer", buyer)
				if err != nil {
					return nil, err
				}
				q, err := b.amount("quantity", qty, asset)
				if err != nil {
					return nil, err
				}
				fv, err := ledger.ParseAmount(fiat, 2)
				if err != nil {
					return nil, fmt.Errorf("--fiat: %w", err)
				}
				d, err := time.ParseDuration(deadline)
				if err != nil {
					return nil, fmt.Errorf("--deadline: %w", err)
				}
				return &ledger.LockForSettlement{Buyer: bu, Asset: asset, Quantity: q, Gateway: gateway,
					FiatAmount: fv, Deadline: time.Now().Add(d).Unix(), Ref: ref}, nil
			}),
		txSub(f, "confirm-payment", "Confirm a gateway settlement's fiat payment (the gateway)",
			all(str(&settlement, "settlement", "settlement id (the lock tx hash)"), str(&ref, "ref", "payment reference")),
			func(b *txBuilder) (ledger.Body, error) {
				h, err := b.hash("settlement", settlement)
				return &ledger.ConfirmPayment{Settlement: h, PaymentRef: ref}, err
			}),
		txSub(f, "fail-settlement", "Fail a gateway settlement: the asset returns to the seller (the gateway)",
			all(str(&settlement, "settlement", "settlement id"), str(&reason, "reason", "why")),
			func(b *txBuilder) (ledger.Body, error) {
				h, err := b.hash("settlement", settlement)
				return &ledger.FailSettlement{Settlement: h, Reason: reason}, err
			}),
		txSub(f, "freeze", "Freeze an account or an asset (the regulator)",
			all(str(&account, "account", "account to freeze"), str(&asset, "asset", "asset to freeze"), str(&reason, "reason", "why")),
			func(b *txBuilder) (ledger.Body, error) {
				a, err := freezeTarget(b, account)
				return &ledger.Freeze{Account: a, Asset: asset, Reason: reason}, err
			}),
		txSub(f, "unfreeze", "Lift a freeze (the regulator)",
			all(str(&account, "account", "account to unfreeze"), str(&asset, "asset", "asset to unfreeze"), str(&reason, "reason", "why")),
			func(b *txBuilder) (ledger.Body, error) {
				a, err := freezeTarget(b, account)
				return &ledger.Unfreeze{Account: a, Asset: asset, Reason: reason}, err
			}),
	)
	return cmd
}

func freezeTarget(b *txBuilder, account string) (ledger.Address, error) {
	if account == "" {
		return ledger.Address{}, nil
	}
	return b.address("account", account)
}
