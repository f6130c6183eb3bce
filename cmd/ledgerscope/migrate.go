package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/appdb"
	"github.com/ledgerscope/ledgerscope/migrations"
)

// newMigrateCmd is `ledgerscope migrate up|down|status`.
func newMigrateCmd() *cobra.Command {
	var db appdb.Config
	cmd := &cobra.Command{
		Use:       "migrate up|down|status",
		Short:     "Apply, roll back (one step) or list the database migrations",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"up", "down", "status"},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			log := cliLogger()
			d, err := appdb.Open(ctx, db, log, appdb.Options{})
			if err != nil {
				return err
			}
			defer d.Close()
			out := cmd.OutOrStdout()
			switch args[0] {
			case "up":
				n, err := migrations.Up(ctx, d.SQL(), log)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "applied %d migrations\n", n)
			case "down":
				ok, err := migrations.Down(ctx, d.SQL(), log)
				if err != nil {
					return err
				}
				if !ok {
					fmt.Fprintln(out, "no migration to roll back")
				}
			case "status":
				st, err := migrations.Statuses(ctx, d.SQL())
				if err != nil {
					return err
				}
				for _, s := range st {
					state := "pending"
					if s.Applied {
						state = "applied"
					}
					fmt.Fprintf(out, "%05d  %-8s %s\n", s.Version, state, s.Name)
				}
			default:
				return errorf("unknown migrate action %q (up, down, status)", args[0])
			}
			return nil
		},
	}
	addDBFlags(cmd, &db)
	return cmd
}
