package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/keyring"
)

func newKeysCmd() *cobra.Command {
	var home string
	ring := func() *keyring.Ring { return keyring.Open(filepath.Join(home, "keys")) }
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage Ed25519 signing keys in <home>/keys",
	}
	cmd.PersistentFlags().StringVar(&home, "home", "var/devnet", "directory whose keys/ holds the keys")
	show := func(cmd *cobra.Command, k keyring.Key) {
		fmt.Fprintf(cmd.OutOrStdout(), "%-20s address %s  pubkey %s\n", k.Name, k.Address(), k.PubKey())
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "add NAME",
			Short: "Generate a new key",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				k, err := ring().Create(args[0])
				if err != nil {
					return err
				}
				show(cmd, k)
				return nil
			},
		},
		&cobra.Command{
			Use:   "show NAME",
			Short: "Print a key's address and public key",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				k, err := ring().Get(args[0])
				if err != nil {
					return err
				}
				show(cmd, k)
				return nil
			},
		},
		&cobra.Command{
			Use:   "list",
			Short: "List the keys",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				keys, err := ring().List()
				if err != nil {
					return err
				}
				for _, k := range keys {
					show(cmd, k)
				}
				return nil
			},
		},
	)
	return cmd
}
