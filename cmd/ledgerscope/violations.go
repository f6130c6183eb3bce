package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/compliance"
	"github.com/ledgerscope/ledgerscope/store"
)

// newViolationsCmd is `ledgerscope violations list`.
func newViolationsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "violations", Short: "Violations raised by the compliance rules"}
	var (
		db       dbConfig
		f        store.ViolationFilter
		evidence bool
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "Violations, newest first, with their figures (and evidence with --evidence)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			d, err := openDatabase(ctx, db, cliLogger(), true)
			if err != nil {
				return err
			}
			defer d.Close()
			vs, err := d.Violations(ctx, f)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "id\trule\tv\tseverity\theight\ttime\tsubject\tmember\tstatus\tsummary")
			for _, v := range vs {
				fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.RuleID, v.RuleVersion, v.Severity, v.Height,
					v.BlockTime.UTC().Format(time.RFC3339), v.Subject, v.Member, v.Status, v.Summary)
				if evidence {
					var ev []compliance.Evidence
					_ = json.Unmarshal(v.Evidence, &ev)
					fmt.Fprintf(tw, "\t\t\t\t\t\tfigures %s\t\t\t\n", v.Figures)
					for _, e := range ev {
						fmt.Fprintf(tw, "\t\t\t\t\t\t%d %s %s\t\t\t%s\n", e.Height, e.Time.UTC().Format(time.RFC3339), e.Tx, e.Note)
					}
				}
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(vs) == f.Limit {
				fmt.Fprintf(out, "more: --before %d\n", vs[len(vs)-1].ID)
			}
			return nil
		},
	}
	list.Flags().StringVar(&f.RuleID, "rule", "", "only this rule")
	list.Flags().StringVar(&f.Status, "status", "", "only this status (open, ...)")
	list.Flags().StringVar(&f.Member, "member", "", "only violations of this member's accounts")
	list.Flags().StringVar(&f.Subject, "subject", "", "only this subject (address, owner_ref, symbol, member)")
	list.Flags().Int64Var(&f.BeforeID, "before", 0, "page: violations with a smaller id")
	list.Flags().IntVar(&f.Limit, "limit", 50, "page size (1 to 1000)")
	list.Flags().BoolVar(&evidence, "evidence", false, "print figures and evidence")
	addDBFlags(list, &db)
	cmd.AddCommand(list)
	return cmd
}
