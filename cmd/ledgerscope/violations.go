package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/appdb"
	"github.com/ledgerscope/ledgerscope/compliance"
	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/store"
)

// newViolationsCmd is `ledgerscope violations list`.
func newViolationsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "violations", Short: "Violations raised by the compliance rules"}
	var (
		db  appdb.Config
		f   store.ViolationFilter
		opt violationListOptions
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "Violations, newest first, with their figures (and evidence with --evidence)",
		Long: `Violations, newest first: one line of fields, then the summary (and with --evidence the
figures and each piece of evidence, with the accounts it names, their member and role)
indented below it. Lines fit 120 columns: long subjects, hashes and addresses are shortened to
their first 8 digits, and long texts wrap; --wide prints them whole, one line each. Amounts
are in their asset's units, shares in percent, accounts named by their key in <home>/keys
where there is one; --raw prints the figures' integers and hex addresses. Times are in
Asia/Shanghai (CST), where the rules count their days.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkRuleID(f.RuleID); err != nil {
				return err
			}
			ctx := cmd.Context()
			return withDatabase(ctx, db, func(d *appdb.DB) error {
				if err := checkMemberID(ctx, d.DB, f.Member); err != nil {
					return err
				}
				vs, err := d.Violations(ctx, f)
				if err != nil {
					return err
				}
				if opt.evidence {
					if opt.show, err = violationsDisplay(ctx, d.DB, opt); err != nil {
						return err
					}
				}
				out := cmd.OutOrStdout()
				if err := printViolationList(out, vs, opt); err != nil {
					return err
				}
				if len(vs) == f.Limit {
					fmt.Fprintf(out, "more: --before %d\n", vs[len(vs)-1].ID)
				}
				return nil
			})
		},
	}
	list.Flags().StringVar(&f.RuleID, "rule", "", "only this rule (an id of rules list)")
	list.Flags().StringVar(&f.Status, "status", "", "only this status (open, ...)")
	list.Flags().StringVar(&f.Member, "member", "", "only violations of this member's accounts (a member id)")
	list.Flags().StringVar(&f.Subject, "subject", "", "only this subject (address, owner_ref, symbol, member)")
	list.Flags().Int64Var(&f.BeforeID, "before", 0, "page: violations with a smaller id")
	list.Flags().IntVar(&f.Limit, "limit", 50, "page size (1 to 1000)")
	list.Flags().BoolVar(&opt.evidence, "evidence", false, "print figures and evidence")
	list.Flags().BoolVar(&opt.wide, "wide", false, "print subjects, hashes and texts whole, one line each")
	list.Flags().BoolVar(&opt.raw, "raw", false, "print figures and evidence amounts as integers in the smallest unit and accounts as hex, for scripts")
	list.Flags().StringVar(&opt.home, "home", "var/devnet", "directory whose keys/ names accounts")
	addDBFlags(list, &db)
	cmd.AddCommand(list)
	return cmd
}

// violationsDisplay renders the evidence's amounts in the synced assets' units and names
// the accounts of the keys in the home.
func violationsDisplay(ctx context.Context, db *store.DB, opt violationListOptions) (*display, error) {
	decimals, err := storeDecimals(ctx, db)
	if err != nil {
		return nil, err
	}
	if _, ok := decimals[ledger.CoinSymbol]; !ok {
		decimals[ledger.CoinSymbol] = ledger.CoinDecimals
	}
	return newDisplay(opt.raw, decimals, opt.home)
}

// checkRuleID refuses a rule id the compliance registry does not know; empty is no filter.
func checkRuleID(id string) error {
	if id == "" {
		return nil
	}
	if _, err := compliance.RuleByID(id); err == nil {
		return nil
	}
	ids := make([]string, 0, 16)
	for _, r := range compliance.Rules() {
		ids = append(ids, r.ID)
	}
	return fmt.Errorf("--rule %s: no such rule (rules: %s)", id, strings.Join(ids, ", "))
}

// checkMemberID refuses a member id the synced members table does not hold; empty is no
// filter.
func checkMemberID(ctx context.Context, db *store.DB, id string) error {
	if id == "" {
		return nil
	}
	ms, err := db.Members(ctx)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(ms))
	for _, m := range ms {
		if m.ID == id {
			return nil
		}
		ids = append(ids, m.ID)
	}
	if len(ids) == 0 {
		return fmt.Errorf("--member %s: no members synced yet", id)
	}
	return fmt.Errorf("--member %s: no such member (members: %s)", id, strings.Join(ids, ", "))
}
