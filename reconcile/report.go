package reconcile

import (
	"encoding/hex"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteText prints the report for a person: the block both sides were read at and what was
// compared, then either "no difference" or a table of the differences.
func (r *Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "reconciled PostgreSQL with the ledger of chain %s at height %d\n", r.ChainID, r.Height)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  block\t%X\t%s\n", r.BlockHash, r.blockHashNote())
	fmt.Fprintf(tw, "  app hash\t%X\t%s\n", r.AppHash, r.appHashNote())
	fmt.Fprintf(tw, "  block time\t%s\t\n", r.BlockTime.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "  balances\t%d compared\t\n", r.Balances)
	fmt.Fprintf(tw, "  asset supplies\t%d compared\t\n", r.Assets)
	fmt.Fprintf(tw, "  transactions\t%d, of which %d failed, counted on the ledger\t\n", r.Txs, r.Failed)
	fmt.Fprintf(tw, "  took\t%s\t\n", r.Took.Round(time.Millisecond))
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.OK() {
		_, err := fmt.Fprintln(w, "no difference")
		return err
	}
	fmt.Fprintf(w, "%d differences", r.Total)
	if r.Total > len(r.Differences) {
		fmt.Fprintf(w, " (the first %d listed)", len(r.Differences))
	}
	fmt.Fprintln(w, ":")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "what\taccount\tasset\tpostgresql\tledger\tnote")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, d := range r.Differences {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", d.Kind, dash(hex.EncodeToString(d.Account)), dash(d.Asset), d.PostgreSQL, d.Ledger, d.Note)
	}
	return tw.Flush()
}

// blockHashNote says whether the node confirmed the block hash. A hash the node contradicts
// never gets here: Run fails with ErrOtherBlock.
func (r *Report) blockHashNote() string {
	if r.HashConfirmed {
		return "confirmed by the node"
	}
	return "not checked: no node to ask"
}

// appHashNote says whether the node confirmed the app hash. A block's app hash is committed
// to by the next block's header, so at the node's latest height it is not wrong but not yet
// confirmable: that is information, not an alarm (a contradicting hash fails Run).
func (r *Report) appHashNote() string {
	switch {
	case r.AppHashConfirmed:
		return "confirmed by the node"
	case r.HashConfirmed:
		return fmt.Sprintf("will be confirmed by block %d (not yet committed)", r.Height+1)
	}
	return "not checked: no node to ask"
}
