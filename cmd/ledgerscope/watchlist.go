package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ledgerscope/ledgerscope/loadgen"
)

// writeWatchlist writes the generator's watch list to path and returns how many entries the
// file has. With keep, a run continuing a chain, the list already there stays and this run's
// entries are added after it: the ground truth of earlier runs, appended to, still labels
// their watch-listed parties, and a list without them would leave those labels unflagged when
// the rules evaluate (or backtest) earlier blocks against the latest upload. The file is
// replaced whole, so an interrupted write leaves the old list.
func writeWatchlist(path string, gen *loadgen.Generator, keep bool) (int, error) {
	entries := gen.Watchlist()
	if keep {
		old, err := os.Open(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return 0, fmt.Errorf("watch list: %w", err)
		default:
			prev, err := loadgen.ReadWatchEntries(old)
			old.Close()
			if err != nil {
				return 0, fmt.Errorf("%s: %w", path, err)
			}
			entries = loadgen.MergeWatchlists(prev, entries)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, fmt.Errorf("watch list: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return 0, fmt.Errorf("watch list: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing left to remove
	werr := loadgen.WriteWatchEntries(tmp, entries)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		return 0, fmt.Errorf("watch list %s: %w", path, werr)
	}
	return len(entries), nil
}
