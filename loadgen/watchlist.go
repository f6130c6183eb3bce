package loadgen

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// watchSlots is how many parties the watch list names, and so how many WATCH scenarios one
// generator can run: the list is fixed before the traffic starts, as the regulator's upload
// is, and the scenario opens accounts for its entries in turn.
const watchSlots = 64

// WatchEntry is one line of a watch list: an owner_ref (64 hex digits) or an account address
// (40), and why it is listed.
type WatchEntry struct {
	Value  string
	Reason string
}

// watchName names the account of a watch-list slot; the seed keeps runs on one chain apart.
func (g *Generator) watchName(slot int) string {
	return fmt.Sprintf("loadgen/%d/watch/%d", g.cfg.Seed, slot)
}

// watchListedBy says how a slot is listed: even slots by owner_ref, odd ones by address, so
// that the WATCH rule is exercised both ways.
func watchListedBy(slot int) string {
	if slot%2 == 0 {
		return "owner_ref"
	}
	return "address"
}

// Watchlist returns the watch list that the WATCH scenario's parties are on, for the
// regulator to upload before the rules evaluate the traffic. It depends on the demo seed and
// the seed alone, so it is known before the run; no clean account is on it.
func (g *Generator) Watchlist() []WatchEntry {
	out := make([]WatchEntry, 0, watchSlots)
	for slot := range watchSlots {
		name := g.watchName(slot)
		e := WatchEntry{Reason: fmt.Sprintf("loadgen WATCH scenario, slot %d", slot)}
		if watchListedBy(slot) == "owner_ref" {
			e.Value = g.ownerRef(name).String()
		} else {
			e.Value = ledger.AddressOf(ledger.PubKeyOf(ledger.DemoKey(g.cfg.DemoSeed, name))).String()
		}
		out = append(out, e)
	}
	return out
}

// WriteWatchlist writes Watchlist as the CSV a watch-list upload reads: a "value,reason"
// header, then one entry a line.
func (g *Generator) WriteWatchlist(w io.Writer) error {
	return WriteWatchEntries(w, g.Watchlist())
}

// WriteWatchEntries writes entries as WriteWatchlist does.
func WriteWatchEntries(w io.Writer, entries []WatchEntry) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"value", "reason"}); err != nil {
		return fmt.Errorf("write watch list: %w", err)
	}
	for _, e := range entries {
		if err := cw.Write([]string{e.Value, e.Reason}); err != nil {
			return fmt.Errorf("write watch list: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write watch list: %w", err)
	}
	return nil
}

// maxWatchlistFile bounds the watch list file ReadWatchEntries reads, as an upload is bounded.
const maxWatchlistFile = 16 << 20

// ReadWatchEntries reads a watch list CSV that WriteWatchEntries wrote (or a person, in the
// same "value,reason" form), so that a later run can add its own entries to an earlier run's.
// It checks the shape only; the upload checks the values.
func ReadWatchEntries(r io.Reader) ([]WatchEntry, error) {
	cr := csv.NewReader(io.LimitReader(r, maxWatchlistFile))
	cr.FieldsPerRecord = 2
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	var out []WatchEntry
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read watch list: %w", err)
		}
		if line == 1 && (rec[0] == "value" || rec[0] == "owner_ref" || rec[0] == "address") {
			continue
		}
		out = append(out, WatchEntry{Value: rec[0], Reason: rec[1]})
	}
}

// MergeWatchlists returns the entries of the lists in order, each value (compared without
// regard to case) once, as its first list gives it: a list kept across runs then only grows
// at its end, and writing it again gives the same bytes.
func MergeWatchlists(lists ...[]WatchEntry) []WatchEntry {
	var out []WatchEntry
	seen := map[string]bool{}
	for _, l := range lists {
		for _, e := range l {
			k := strings.ToLower(e.Value)
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}
