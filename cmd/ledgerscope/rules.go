package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/appdb"
	"github.com/ledgerscope/ledgerscope/compliance"
	"github.com/ledgerscope/ledgerscope/store"
)

// newRulesCmd is `ledgerscope rules list|set|backtest|run|watchlist upload`.
func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Compliance rules: list their versions, change parameters, backtest, run, upload the watch list",
	}
	cmd.AddCommand(newRulesListCmd(), newRulesSetCmd(), newRulesBacktestCmd(), newRulesRunCmd(), newRulesWatchlistCmd())
	return cmd
}

// defaultUser is the OS user, recorded as who made a change unless --by says otherwise.
func defaultUser() string {
	for _, k := range []string{"USER", "LOGNAME"} {
		if u := os.Getenv(k); u != "" {
			return u
		}
	}
	return "cli"
}

// parseSets reads repeated --set name=value flags.
func parseSets(sets []string) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, errorf("--set %q: want name=value", s)
		}
		out[k] = v
	}
	return out, nil
}

func newRulesListCmd() *cobra.Command {
	var db appdb.Config
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Every rule with its version, parameters and legal source",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return withDatabase(ctx, db, func(d *appdb.DB) error {
				set, err := compliance.LoadActive(ctx, d.DB)
				if err != nil {
					return err
				}
				return printRuleSet(cmd.OutOrStdout(), set)
			})
		},
	}
	addDBFlags(cmd, &db)
	return cmd
}

// printRuleSet prints every rule of set with its version and parameters.
func printRuleSet(out io.Writer, set *compliance.ActiveSet) error {
	fmt.Fprintf(out, "rule set version %d\n", set.Version)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "rule\tversion\tenabled\tseverity\tparameters\ttitle")
	for _, ar := range set.Rules {
		fmt.Fprintf(tw, "%s\t%d\t%v\t%s\t%s\t%s\n", ar.Rule.ID, ar.Version, ar.Enabled, ar.Rule.Severity, ar.Raw, ar.Rule.Title)
	}
	return tw.Flush()
}

func newRulesSetCmd() *cobra.Command {
	var (
		db              appdb.Config
		rule, by, why   string
		sets            []string
		enable, disable bool
	)
	cmd := &cobra.Command{
		Use:   "set",
		Short: "Record a new version of a rule with changed parameters (who and why are kept)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kv, err := parseSets(sets)
			if err != nil {
				return err
			}
			var enabled *bool
			switch {
			case enable && disable:
				return errorf("give --enable or --disable, not both")
			case enable:
				t := true
				enabled = &t
			case disable:
				f := false
				enabled = &f
			}
			ctx := cmd.Context()
			return withDatabase(ctx, db, func(d *appdb.DB) error {
				v, sv, err := compliance.SetParams(ctx, d.DB, rule, kv, enabled, by, why)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s version %d (rule set %d)\n", rule, v, sv)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&rule, "rule", "", "rule id, e.g. LV-IND")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "parameter name=value (repeatable)")
	cmd.Flags().StringVar(&by, "by", defaultUser(), "who makes the change")
	cmd.Flags().StringVar(&why, "reason", "", "why the change is made (required)")
	cmd.Flags().BoolVar(&enable, "enable", false, "enable the rule")
	cmd.Flags().BoolVar(&disable, "disable", false, "disable the rule")
	_ = cmd.MarkFlagRequired("rule")
	_ = cmd.MarkFlagRequired("reason")
	addDBFlags(cmd, &db)
	return cmd
}

func newRulesBacktestCmd() *cobra.Command {
	var (
		db       appdb.Config
		req      compliance.BacktestRequest
		sets     []string
		showRows int
	)
	cmd := &cobra.Command{
		Use:   "backtest",
		Short: "Run a rule version over history and report what it would add and remove; writes nothing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kv, err := parseSets(sets)
			if err != nil {
				return err
			}
			req.Set = kv
			ctx := cmd.Context()
			return withDatabase(ctx, db, func(d *appdb.DB) error {
				res, err := compliance.Backtest(ctx, d.DB, req)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				fmt.Fprintf(out, "%s from version %d with %s over heights %d..%d\n", res.RuleID, res.BaseVersion, res.Params, res.From, res.To)
				fmt.Fprintf(out, "would flag %d: %d added, %d removed, %d unchanged\n", len(res.Would), len(res.Added), len(res.Removed), res.Unchanged)
				printViolations(out, "added", res.Added, showRows)
				printViolations(out, "removed", res.Removed, showRows)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&req.RuleID, "rule", "", "rule id, e.g. LV-IND")
	cmd.Flags().Int32Var(&req.Version, "version", 0, "rule version to start from (0: latest)")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "parameter name=value overriding that version (repeatable)")
	cmd.Flags().Int64Var(&req.From, "from", 1, "first height")
	cmd.Flags().Int64Var(&req.To, "to", 0, "last height (0: as far as the rules have run)")
	cmd.Flags().Int64Var(&req.ChunkBlocks, "chunk", compliance.DefaultBacktestChunk, "blocks evaluated at a time")
	cmd.Flags().IntVar(&showRows, "show", 20, "rows of each list to print")
	_ = cmd.MarkFlagRequired("rule")
	addDBFlags(cmd, &db)
	return cmd
}

// printViolations prints up to limit of vs under title.
func printViolations(out io.Writer, title string, vs []store.Violation, limit int) {
	if len(vs) == 0 {
		return
	}
	fmt.Fprintf(out, "%s:\n", title)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  rule\theight\tsubject\twindow\tsummary")
	for i, v := range vs {
		if i == limit {
			fmt.Fprintf(tw, "  ... %d more\t\t\t\t\n", len(vs)-limit)
			break
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\n", v.RuleID, v.Height, v.Subject, v.WindowKey, v.Summary)
	}
	_ = tw.Flush()
}

func newRulesRunCmd() *cobra.Command {
	var (
		db    appdb.Config
		batch int64
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Follow the sync cursor and evaluate the rules on every synced block (until interrupted)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return withDatabase(ctx, db, func(d *appdb.DB) error {
				r, err := compliance.NewRunner(compliance.RunnerConfig{DB: d.DB, MaxBatchBlocks: batch, Logger: cliLogger().With("component", "compliance")})
				if err != nil {
					return err
				}
				return r.Run(ctx)
			})
		},
	}
	cmd.Flags().Int64Var(&batch, "batch", compliance.DefaultMaxBatchBlocks, "most blocks evaluated in one transaction")
	addDBFlags(cmd, &db)
	return cmd
}

func newRulesWatchlistCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "watchlist", Short: "The regulator's watch list"}
	var (
		db      appdb.Config
		by, why string
	)
	upload := &cobra.Command{
		Use:   "upload FILE",
		Short: "Store a CSV of owner_refs or addresses with a reason (value,reason per line) as a new watch list version",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			ctx := cmd.Context()
			return withDatabase(ctx, db, func(d *appdb.DB) error {
				v, n, err := compliance.UploadWatchlist(ctx, d.DB, f, by, why)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "watch list version %d: %d entries\n", v, n)
				return nil
			})
		},
	}
	upload.Flags().StringVar(&by, "by", defaultUser(), "who uploads it")
	upload.Flags().StringVar(&why, "reason", "", "why it is uploaded (required)")
	_ = upload.MarkFlagRequired("reason")
	addDBFlags(upload, &db)
	cmd.AddCommand(upload)
	return cmd
}
