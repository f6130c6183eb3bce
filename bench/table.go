// Package bench measures the system end to end on this machine and prints one table: each
// row a figure, its goal, and the ratio between them, all from the same run. `make bench` runs
// it; nothing here runs in `make test`.
package bench

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Row is one measured figure.
type Row struct {
	Name  string
	Value float64
	Unit  string
	// Goal is the target; zero means the row is informational.
	Goal float64
	// AtMost is true when lower is better (latencies, memory).
	AtMost bool
	Note   string
}

func (r Row) verdict() string {
	switch {
	case r.Goal == 0:
		return ""
	case r.AtMost && r.Value <= r.Goal, !r.AtMost && r.Value >= r.Goal:
		return "met"
	}
	return "MISSED"
}

// Print writes the rows as an aligned table.
func Print(w io.Writer, rows []Row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tvalue\tunit\tgoal\tverdict\tnote")
	for _, r := range rows {
		goal := ""
		if r.Goal != 0 {
			op := "≥"
			if r.AtMost {
				op = "≤"
			}
			goal = op + " " + human(r.Goal)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, human(r.Value), r.Unit, goal, r.verdict(), r.Note)
	}
	tw.Flush()
}

func human(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f", v)
}
