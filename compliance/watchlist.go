package compliance

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ledgerscope/ledgerscope/store"
)

// MaxWatchlistBytes bounds an uploaded watch list file.
const MaxWatchlistBytes = 16 << 20

// ParseWatchlist reads a watch list CSV: one entry a line, "value,reason", where value is an
// owner_ref (64 hex digits) or an account address (40 hex digits), either case, and an
// optional header line "value,reason" (or "owner_ref,reason", "address,reason"). It returns
// the entries and the SHA-256 of the file.
func ParseWatchlist(r io.Reader) ([]store.WatchlistEntry, []byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxWatchlistBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read watch list: %w", err)
	}
	if len(data) > MaxWatchlistBytes {
		return nil, nil, fmt.Errorf("watch list larger than %d bytes: %w", MaxWatchlistBytes, ErrInvalid)
	}
	sum := sha256.Sum256(data)
	cr := csv.NewReader(strings.NewReader(string(data)))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	var out []store.WatchlistEntry
	seen := map[string]bool{}
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("watch list: %w: %w", ErrInvalid, err)
		}
		if len(rec) < 1 || len(rec) > 2 {
			return nil, nil, fmt.Errorf("watch list line %d: want value,reason: %w", line, ErrInvalid)
		}
		val := strings.TrimSpace(rec[0])
		reason := ""
		if len(rec) == 2 {
			reason = strings.TrimSpace(rec[1])
		}
		if line == 1 && (val == "value" || val == "owner_ref" || val == "address") {
			continue
		}
		b, err := hex.DecodeString(strings.ToLower(val))
		if err != nil {
			return nil, nil, fmt.Errorf("watch list line %d: %q is not hex: %w", line, val, ErrInvalid)
		}
		kind := ""
		switch len(b) {
		case 32:
			kind = store.WatchOwnerRef
		case 20:
			kind = store.WatchAddress
		default:
			return nil, nil, fmt.Errorf("watch list line %d: %d bytes is neither an owner_ref (32) nor an address (20): %w", line, len(b), ErrInvalid)
		}
		if reason == "" {
			return nil, nil, fmt.Errorf("watch list line %d: a reason is required: %w", line, ErrInvalid)
		}
		if seen[kind+string(b)] {
			continue
		}
		seen[kind+string(b)] = true
		out = append(out, store.WatchlistEntry{Kind: kind, Value: b, Reason: reason})
		if len(out) > store.MaxWatchlistEntries {
			return nil, nil, fmt.Errorf("watch list: more than %d entries: %w", store.MaxWatchlistEntries, ErrInvalid)
		}
	}
	return out, sum[:], nil
}

// UploadWatchlist parses a watch list CSV and stores it as a new version.
func UploadWatchlist(ctx context.Context, db *store.DB, r io.Reader, by, reason string) (int32, int, error) {
	entries, digest, err := ParseWatchlist(r)
	if err != nil {
		return 0, 0, err
	}
	v, err := db.SaveWatchlist(ctx, entries, digest, by, reason)
	if err != nil {
		return 0, 0, err
	}
	return v, len(entries), nil
}

// UploadWatchlistUnlessCurrent is UploadWatchlist that leaves the watch list alone when its
// newest version is this very file (the same SHA-256), for an uploader that runs on every
// start. It returns the version holding the list, its entries and whether it is new.
func UploadWatchlistUnlessCurrent(ctx context.Context, db *store.DB, r io.Reader, by, reason string) (int32, int, bool, error) {
	entries, digest, err := ParseWatchlist(r)
	if err != nil {
		return 0, 0, false, err
	}
	v, saved, err := db.SaveWatchlistUnlessCurrent(ctx, entries, digest, by, reason)
	if err != nil {
		return 0, 0, false, err
	}
	return v, len(entries), saved, nil
}
