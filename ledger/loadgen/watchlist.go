package loadgen

import (
	"encoding/csv"
	"fmt"
	"io"

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
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"value", "reason"}); err != nil {
		return fmt.Errorf("write watch list: %w", err)
	}
	for _, e := range g.Watchlist() {
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
