package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/appdb"
	"github.com/ledgerscope/ledgerscope/keyring"
	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/store"
)

// holdingsConfig is the holdings command's flags.
type holdingsConfig struct {
	db      appdb.Config
	home    string
	account string
	asset   string
	height  int64
	at      string
	after   string
	limit   int
	raw     bool
}

// newHoldingsCmd is `ledgerscope holdings --account|--asset [--at-height|--at-time]`.
func newHoldingsCmd() *cobra.Command {
	var c holdingsConfig
	cmd := &cobra.Command{
		Use:   "holdings",
		Short: "Holdings of an account or of an asset at any height or time, from the synced balance history",
		Long: `Holdings of an account or of an asset at any height or time, from the synced balance
history. Amounts are in the asset's units with its symbol, accounts named by their key in
<home>/keys where there is one, the block's time in Asia/Shanghai; --raw prints integers in the
smallest unit, hex addresses and UTC.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := c.query()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			return withDatabase(ctx, c.db, func(d *appdb.DB) error {
				res, err := d.HoldingsAt(ctx, q)
				if err != nil {
					return err
				}
				decimals, err := storeDecimals(ctx, d.DB)
				if err != nil {
					return err
				}
				show, err := newDisplay(c.raw, decimals, c.home)
				if err != nil {
					return err
				}
				return printHoldings(cmd.OutOrStdout(), q, res, show)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.account, "account", "", "account: 40 hex digits, or a key name in <home>/keys")
	f.StringVar(&c.home, "home", "var/devnet", "directory whose keys/ names accounts")
	f.StringVar(&c.asset, "asset", "", "asset symbol")
	f.Int64Var(&c.height, "at-height", 0, "height to answer at; 0 is the latest synced height")
	f.StringVar(&c.at, "at-time", "", "answer at the last block at or before this time (RFC 3339)")
	f.StringVar(&c.after, "after", "", "continue a by-asset listing after this account")
	f.IntVar(&c.limit, "limit", 100, fmt.Sprintf("rows to print, 1 to %d", store.MaxPage))
	f.BoolVar(&c.raw, "raw", false, "print amounts as integers in the smallest unit, accounts as hex and the time in UTC, for scripts")
	addDBFlags(cmd, &c.db)
	return cmd
}

// query turns the flags into the query they ask, or says what is wrong with them.
func (c *holdingsConfig) query() (store.HoldingsQuery, error) {
	q := store.HoldingsQuery{Asset: c.asset, At: c.height, Limit: c.limit}
	if c.account != "" {
		a, err := namedAddress(keyring.Open(filepath.Join(c.home, "keys")), c.account)
		if err != nil {
			return q, fmt.Errorf("--account: %w", err)
		}
		q.Account = a[:]
	}
	if c.account == "" && c.asset == "" {
		return q, errorf("give --account or --asset")
	}
	if c.at != "" {
		if c.height != 0 {
			return q, errorf("give --at-height or --at-time, not both")
		}
		t, err := time.Parse(time.RFC3339, c.at)
		if err != nil {
			return q, errorf("--at-time: want RFC 3339, e.g. 2026-11-02T09:30:00+08:00: %w", err)
		}
		q.AtTime = &t
	}
	if c.after != "" {
		a, err := ledger.ParseAddress(c.after)
		if err != nil {
			return q, err
		}
		q.AfterAccount = a[:]
	}
	return q, nil
}

// printHoldings prints the block the answer is at and its holdings as d renders them, and
// how to page on when the page is full.
func printHoldings(out io.Writer, q store.HoldingsQuery, res *store.Holdings, d *display) error {
	when := timeText(res.BlockTime)
	if d.raw {
		when = res.BlockTime.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(out, "height %d  block %X  time %s\n", res.Height, res.BlockHash, when)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "account\tasset\tamount\tlocked\tchanged at\t")
	for _, h := range res.Holdings {
		var a ledger.Address
		copy(a[:], h.Account)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t\n", d.account(a), h.Asset, d.amount64(h.Amount, h.Asset), d.amount64(h.Locked, h.Asset), h.Height)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(res.Holdings) == q.Limit || (q.Limit == 0 && len(res.Holdings) == store.MaxPage) {
		last := res.Holdings[len(res.Holdings)-1]
		fmt.Fprintf(out, "more: --after %s\n", hex.EncodeToString(last.Account))
	}
	return nil
}
