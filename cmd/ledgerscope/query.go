package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/keyring"
)

// queryConfig is the query commands' shared flags.
type queryConfig struct {
	node, home string
	raw        bool
}

func newQueryCmd() *cobra.Command {
	var c queryConfig
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Ask a node about the ledger's current state",
		Long: `Ask a node about the ledger's current state. Accounts are hex addresses or key names in
<home>/keys. Answers are JSON. Each amount is an integer in the asset's smallest unit, as the
ledger keeps it, with the same in the asset's units beside it under the name + "_units"
("amount": 1225, "amount_units": "12.25"); an account the home has a key for has its name
under the name + "_key". --raw prints the ledger's answer alone.`,
	}
	cmd.PersistentFlags().StringVar(&c.node, "node", defaultNode, "CometBFT RPC address of a node")
	cmd.PersistentFlags().StringVar(&c.home, "home", "var/devnet", "directory whose keys/ names accounts")
	cmd.PersistentFlags().BoolVar(&c.raw, "raw", false, "print the ledger's answer only: integers, no units or key names")
	resolve := func(s string) (string, error) {
		a, err := namedAddress(keyring.Open(filepath.Join(c.home, "keys")), s)
		return a.String(), err
	}
	fixed := func(p string) func([]string) (string, error) {
		return func([]string) (string, error) { return p, nil }
	}
	cmd.AddCommand(
		c.sub("account ACCOUNT", "An account, its nonce and its holdings", 1, func(a []string) (string, error) {
			addr, err := resolve(a[0])
			return "/account/" + addr, err
		}, annotateAccount),
		c.sub("balance ACCOUNT ASSET", "One holding", 2, func(a []string) (string, error) {
			addr, err := resolve(a[0])
			return "/balance/" + addr + "/" + a[1], err
		}, annotateBalance),
		c.sub("asset SYMBOL", "An asset and its supply", 1, func(a []string) (string, error) { return "/asset/" + a[0], nil }, annotateAsset),
		c.sub("assets", "Every asset", 0, fixed("/assets"), each(annotateAsset)),
		c.sub("member ID", "A member", 1, func(a []string) (string, error) { return "/member/" + a[0], nil }, annotateMember),
		c.sub("members", "Every member", 0, fixed("/members"), each(annotateMember)),
		c.sub("settlement ID", "A gateway settlement", 1, func(a []string) (string, error) { return "/settlement/" + a[0], nil }, annotateSettlement),
		c.sub("reserves", "The last reserve attestation and the coin supply", 0, fixed("/reserves"), annotateReserves),
	)
	return cmd
}

// sub makes one query subcommand: path turns its arguments into the query's path, annotate
// adds units and key names to the answer.
func (c *queryConfig) sub(use, short string, args int, path func([]string) (string, error), annotate annotator) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Args: cobra.ExactArgs(args),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := path(args)
			if err != nil {
				return err
			}
			cl, err := dialNode(c.node)
			if err != nil {
				return err
			}
			v, err := c.answer(cmd.Context(), cl, p, args, annotate)
			if err != nil {
				return err
			}
			b, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				return fmt.Errorf("query %s: %w", p, err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(b))
			return nil
		},
	}
}

// answer runs the query and, unless raw, annotates its answer.
func (c *queryConfig) answer(ctx context.Context, cl *ledgerClient, path string, args []string, annotate annotator) (any, error) {
	var raw json.RawMessage
	if err := cl.query(ctx, path, &raw); err != nil {
		return nil, err
	}
	// Numbers stay json.Number, so that no amount passes through a float.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("query %s: answer: %w", path, err)
	}
	if c.raw {
		return v, nil
	}
	decimals, err := cl.nodeDecimals(ctx)
	if err != nil {
		return nil, err
	}
	d, err := newDisplay(false, decimals, c.home)
	if err != nil {
		return nil, err
	}
	annotate(d, v, args)
	return v, nil
}
