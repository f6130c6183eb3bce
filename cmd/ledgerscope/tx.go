package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"

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
	raw     bool
}

// txBuilder resolves the command line's names into ledger values. Its readers keep the first
// error in err and do nothing after it, so that a body is built in one expression and the
// first bad flag, in the order they are read, is the one reported.
type txBuilder struct {
	ctx    context.Context
	flags  *txFlags
	ring   *keyring.Ring
	client *ledgerClient
	err    error
}

// fail records the first error.
func (b *txBuilder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// address accepts a 40-digit hex address or the name of a key in the ring.
func (b *txBuilder) address(what, s string) ledger.Address {
	if b.err != nil {
		return ledger.Address{}
	}
	if s == "" {
		b.fail(fmt.Errorf("--%s is required", what))
		return ledger.Address{}
	}
	a, err := namedAddress(b.ring, s)
	if err != nil {
		b.fail(fmt.Errorf("--%s: %w", what, err))
	}
	return a
}

// amount reads a positive decimal amount in the asset's units, asking the node for its
// decimals. Zero and negative amounts are refused here, before anything is signed.
func (b *txBuilder) amount(what, s, asset string) uint64 {
	if b.err != nil {
		return 0
	}
	if s == "" {
		b.fail(fmt.Errorf("--%s is required", what))
		return 0
	}
	dec, err := b.client.decimals(b.ctx, asset)
	if err != nil {
		b.fail(fmt.Errorf("--%s: %w", what, err))
		return 0
	}
	v, err := positiveAmount(what, s, dec)
	b.fail(err)
	return v
}

// positiveAmount parses the value of flag --what in units of dec decimals; zero and
// negative amounts are an error that names the flag.
func positiveAmount(what, s string, dec uint8) (uint64, error) {
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("--%s %s: the amount must be positive", what, s)
	}
	v, err := ledger.ParseAmount(s, dec)
	if err != nil {
		return 0, fmt.Errorf("--%s: %w", what, err)
	}
	if v == 0 {
		return 0, fmt.Errorf("--%s %s: the amount must be positive", what, s)
	}
	return v, nil
}

// hash reads a hex SHA-256 hash.
func (b *txBuilder) hash(what, s string) ledger.Hash {
	if b.err != nil {
		return ledger.Hash{}
	}
	h, err := ledger.ParseHash(s)
	if err != nil {
		b.fail(fmt.Errorf("--%s: %w", what, err))
	}
	return h
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
	d, err := b.display()
	if err != nil {
		return err
	}
	return b.client.broadcast(b.ctx, raw, cmd.OutOrStdout(), d)
}

// display renders the result: amounts in units with the node's decimals, accounts by the
// names of the home's keys.
func (b *txBuilder) display() (*display, error) {
	dec, err := b.client.nodeDecimals(b.ctx)
	if err != nil {
		return nil, err
	}
	return newDisplay(b.flags.raw, dec, b.flags.home)
}

// txSub makes one tx subcommand: flags declares its own flags, build turns them into a body.
// The first error of the builder's readers counts as build's.
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
			if err == nil {
				err = b.err
			}
			if err != nil {
				return err
			}
			return b.send(cmd, body)
		},
	}
	flags(cmd)
	return cmd
}

// newTxCmd is `ledgerscope tx TYPE`: one subcommand per transaction type (tx_types.go).
func newTxCmd() *cobra.Command {
	f := &txFlags{}
	cmd := &cobra.Command{
		Use:   "tx",
		Short: "Build, sign and broadcast a transaction, and print its result",
		Long: `Build, sign and broadcast a transaction, and print its result.

Accounts are given as 40-digit hex addresses or as names of keys in <home>/keys; amounts as
positive decimals in the asset's units (12.50 CNYS is 1250 fen). The nonce and chain id are
read from the node unless given. The result prints amounts in units with their symbol and
accounts by their key name where <home>/keys has one; --raw prints integers and hex.`,
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
	pf.BoolVar(&f.raw, "raw", false, "print amounts as integers in the smallest unit and accounts as hex, for scripts")
	_ = cmd.MarkPersistentFlagRequired("from")
	cmd.AddCommand(
		txMoveCmd(f, "transfer", "Move an asset from --from to another account",
			func(to ledger.Address, asset string, v uint64) ledger.Body {
				return &ledger.Transfer{To: to, Asset: asset, Amount: v}
			}),
		txRegisterAccountCmd(f),
		txIssueAssetCmd(f),
		txMoveCmd(f, "mint", "Create supply in an account (the issuer's operator)",
			func(to ledger.Address, asset string, v uint64) ledger.Body {
				return &ledger.Mint{Asset: asset, To: to, Amount: v}
			}),
		txBurnCmd(f),
		txAttestReservesCmd(f),
		txSettleDvPCmd(f),
		txLockForSettlementCmd(f),
		txConfirmPaymentCmd(f),
		txFailSettlementCmd(f),
		txFreezeCmd(f, "freeze", "Freeze an account or an asset (the regulator)", "freeze",
			func(a ledger.Address, asset, reason string) ledger.Body {
				return &ledger.Freeze{Account: a, Asset: asset, Reason: reason}
			}),
		txFreezeCmd(f, "unfreeze", "Lift a freeze (the regulator)", "unfreeze",
			func(a ledger.Address, asset, reason string) ledger.Body {
				return &ledger.Unfreeze{Account: a, Asset: asset, Reason: reason}
			}),
	)
	return cmd
}
