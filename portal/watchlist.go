package portal

import (
	"context"
	"fmt"
	"os"

	"github.com/ledgerscope/ledgerscope/compliance"
	"github.com/ledgerscope/ledgerscope/store"
)

// Who and why the devnet's uploads of the load generator's watch list are recorded as.
const (
	DevnetWatchlistBy     = "devnet"
	DevnetWatchlistReason = "demo watch list of the load generator"
)

// UploadDevnetWatchlist uploads the watch list file at path as `rules watchlist upload` does,
// by the devnet, unless it is the current version already: a restart then adds no identical
// version, while a list a continued run has grown is uploaded as a new one.
func UploadDevnetWatchlist(ctx context.Context, db *store.DB, path string) (version int32, entries int, saved bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, false, fmt.Errorf("watch list: %w", err)
	}
	defer f.Close()
	v, n, saved, err := compliance.UploadWatchlistUnlessCurrent(ctx, db, f, DevnetWatchlistBy, DevnetWatchlistReason)
	if err != nil {
		return 0, 0, false, fmt.Errorf("upload the watch list %s: %w", path, err)
	}
	return v, n, saved, nil
}

// UploadSaid is what became of an UploadDevnetWatchlist, for people.
func UploadSaid(path string, version int32, entries int, saved bool) string {
	state := "uploaded"
	if !saved {
		state = "already the current upload"
	}
	return fmt.Sprintf("%s (%d entries), version %d, %s", path, entries, version, state)
}
