package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/keyring"
)

func newQueryCmd() *cobra.Command {
	var node, home string
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Ask a node about the ledger's current state",
		Long: `Ask a node about the ledger's current state. Accounts are hex addresses or key names in
<home>/keys. Answers are JSON; amounts are integers in the asset's smallest unit.`,
	}
	cmd.PersistentFlags().StringVar(&node, "node", defaultNode, "CometBFT RPC address of a node")
	cmd.PersistentFlags().StringVar(&home, "home", "var/devnet", "directory whose keys/ names accounts")
	resolve := func(s string) (string, error) {
		a, err := namedAddress(keyring.Open(filepath.Join(home, "keys")), s)
		return a.String(), err
	}
	sub := func(use, short string, args int, path func([]string) (string, error)) *cobra.Command {
		return &cobra.Command{
			Use: use, Short: short, Args: cobra.ExactArgs(args),
			RunE: func(cmd *cobra.Command, args []string) error {
				p, err := path(args)
				if err != nil {
					return err
				}
				c, err := dialNode(node)
				if err != nil {
					return err
				}
				var v any
				if err := c.query(cmd.Context(), p, &v); err != nil {
					return err
				}
				b, _ := json.MarshalIndent(v, "", "  ")
				fmt.Fprintln(cmd.OutOrStdout(), string(b))
				return nil
			},
		}
	}
	fixed := func(p string) func([]string) (string, error) {
		return func([]string) (string, error) { return p, nil }
	}
	cmd.AddCommand(
		sub("account ACCOUNT", "An account, its nonce and its holdings", 1, func(a []string) (string, error) {
			addr, err := resolve(a[0])
			return "/account/" + addr, err
		}),
		sub("balance ACCOUNT ASSET", "One holding", 2, func(a []string) (string, error) {
			addr, err := resolve(a[0])
			return "/balance/" + addr + "/" + a[1], err
		}),
		sub("asset SYMBOL", "An asset and its supply", 1, func(a []string) (string, error) { return "/asset/" + a[0], nil }),
		sub("assets", "Every asset", 0, fixed("/assets")),
		sub("member ID", "A member", 1, func(a []string) (string, error) { return "/member/" + a[0], nil }),
		sub("members", "Every member", 0, fixed("/members")),
		sub("settlement ID", "A gateway settlement", 1, func(a []string) (string, error) { return "/settlement/" + a[0], nil }),
		sub("reserves", "The last reserve attestation and the coin supply", 0, fixed("/reserves")),
	)
	return cmd
}
