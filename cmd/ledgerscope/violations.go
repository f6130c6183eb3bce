package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/appdb"
	"github.com/ledgerscope/ledgerscope/compliance"
	"github.com/ledgerscope/ledgerscope/store"
)

// newViolationsCmd is `ledgerscope violations list`.
func newViolationsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "violations", Short: "Violations raised by the compliance rules"}
	var (
		db       appdb.Config
		f        store.ViolationFilter
		evidence bool
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "Violations, newest first, with their figures (and evidence with --evidence)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return withDatabase(ctx, db, func(d *appdb.DB) error {
				vs, err := d.Violations(ctx, f)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if err := printViolationList(out, vs, evidence); err != nil {
					return err
				}
				if len(vs) == f.Limit {
					fmt.Fprintf(out, "more: --before %d\n", vs[len(vs)-1].ID)
				}
				return nil
			})
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

// printViolationList prints violations as a table, each with its figures and evidence when
// evidence is set.
func printViolationList(out io.Writer, vs []store.Violation, evidence bool) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "id\trule\tv\tseverity\theight\ttime\tsubject\tmember\tstatus\tsummary")
	for _, v := range vs {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.RuleID, v.RuleVersion, v.Severity, v.Height,
			v.BlockTime.UTC().Format(time.RFC3339), v.Subject, v.Member, v.Status, v.Summary)
		if !evidence {
			continue
		}
		var ev []compliance.Evidence
		_ = json.Unmarshal(v.Evidence, &ev)
		fmt.Fprintf(tw, "\t\t\t\t\t\tfigures %s\t\t\t\n", v.Figures)
		for _, e := range ev {
			fmt.Fprintf(tw, "\t\t\t\t\t\t%d %s %s\t\t\t%s\n", e.Height, e.Time.UTC().Format(time.RFC3339), e.Tx, e.Note)
		}
	}
	return tw.Flush()
}
