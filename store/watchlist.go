package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// WatchlistVersion is a row of watchlist_versions: one upload of the regulator's watch list.
type WatchlistVersion struct {
	Version   int32     `gorm:"column:version;primaryKey"`
	Entries   int32     `gorm:"column:entries"`
	Digest    []byte    `gorm:"column:digest"`
	CreatedBy string    `gorm:"column:created_by"`
	Reason    string    `gorm:"column:reason"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

// TableName implements gorm's Tabler.
func (WatchlistVersion) TableName() string { return "watchlist_versions" }

// WatchlistEntry is a row of watchlist_entries.
type WatchlistEntry struct {
	Version int32  `gorm:"column:version;primaryKey"`
	Kind    string `gorm:"column:kind;primaryKey"`
	Value   []byte `gorm:"column:value;primaryKey"`
	Reason  string `gorm:"column:reason"`
}

// TableName implements gorm's Tabler.
func (WatchlistEntry) TableName() string { return "watchlist_entries" }

// Watch list entry kinds.
const (
	WatchOwnerRef = "owner_ref"
	WatchAddress  = "address"
)

// MaxWatchlistEntries bounds one upload.
const MaxWatchlistEntries = 100_000

// SaveWatchlist stores a complete new version of the watch list and returns its number.
func (db *DB) SaveWatchlist(ctx context.Context, entries []WatchlistEntry, digest []byte, by, reason string) (int32, error) {
	v, _, err := db.saveWatchlist(ctx, entries, digest, by, reason, false)
	return v, err
}

// SaveWatchlistUnlessCurrent is SaveWatchlist that stores nothing when the newest version has
// the same digest, so that a file uploaded again on every start (the devnet's demo list)
// leaves one version rather than a pile of identical ones. It returns the version holding the
// list and whether it is a new one. The newest version is read under the upload's lock, so two
// uploaders of one file cannot both add it.
func (db *DB) SaveWatchlistUnlessCurrent(ctx context.Context, entries []WatchlistEntry, digest []byte, by, reason string) (int32, bool, error) {
	return db.saveWatchlist(ctx, entries, digest, by, reason, true)
}

func (db *DB) saveWatchlist(ctx context.Context, entries []WatchlistEntry, digest []byte, by, reason string, unlessCurrent bool) (int32, bool, error) {
	if by == "" || reason == "" {
		return 0, false, fmt.Errorf("save watch list: who and why are required: %w", ErrInvalid)
	}
	if len(entries) > MaxWatchlistEntries {
		return 0, false, fmt.Errorf("save watch list: %d entries, at most %d: %w", len(entries), MaxWatchlistEntries, ErrInvalid)
	}
	var (
		version int32
		saved   bool
	)
	err := db.TransactPgx(ctx, func(tx pgx.Tx) error {
		saved = false
		if _, err := tx.Exec(ctx, "LOCK TABLE watchlist_versions IN EXCLUSIVE MODE"); err != nil {
			return err
		}
		if unlessCurrent {
			var current []byte
			err := tx.QueryRow(ctx, "SELECT version, digest FROM watchlist_versions ORDER BY version DESC LIMIT 1").Scan(&version, &current)
			switch {
			case err == nil && bytes.Equal(current, digest):
				return nil
			case err != nil && !errors.Is(err, pgx.ErrNoRows):
				return err
			}
		}
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) + 1 FROM watchlist_versions").Scan(&version); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO watchlist_versions (version, entries, digest, created_by, reason, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, version, len(entries), digest, by, reason, time.Now().UTC()); err != nil {
			return err
		}
		rows := make([][]any, len(entries))
		for i, e := range entries {
			rows[i] = []any{version, e.Kind, e.Value, e.Reason}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"watchlist_entries"}, []string{"version", "kind", "value", "reason"}, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		saved = true
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("save watch list: %w", err)
	}
	return version, saved, nil
}

// LatestWatchlistVersion returns the newest watch list version number, 0 when none exists.
func (db *DB) LatestWatchlistVersion(ctx context.Context) (int32, error) {
	var v int32
	if err := db.Pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM watchlist_versions").Scan(&v); err != nil {
		return 0, fmt.Errorf("watch list version: %w", err)
	}
	return v, nil
}
