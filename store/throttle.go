package store

import (
	"context"
	"fmt"
	"time"
)

// Throttle is how sign-in failures are counted: at most Max failures per key within
// Window, then the key is locked for Lock.
type Throttle struct {
	Max    int
	Window time.Duration
	Lock   time.Duration
}

// LoginLocked returns the latest time until which any of the keys is locked, or the zero
// time when none is at now.
func (db *DB) LoginLocked(ctx context.Context, keys []string, now time.Time) (time.Time, error) {
	var until *time.Time
	err := db.Pool.QueryRow(ctx, `SELECT max(locked_until) FROM login_throttle WHERE key = ANY($1) AND locked_until > $2`, keys, now).Scan(&until)
	if err != nil {
		return time.Time{}, fmt.Errorf("login throttle: %w", err)
	}
	if until == nil {
		return time.Time{}, nil
	}
	return *until, nil
}

// LoginFailed counts a failure against each key; a key that reaches t.Max failures within
// t.Window is locked until now+t.Lock, and a window that has passed starts again.
func (db *DB) LoginFailed(ctx context.Context, keys []string, now time.Time, t Throttle) error {
	for _, k := range keys {
		_, err := db.Pool.Exec(ctx, `INSERT INTO login_throttle AS l (key, failures, window_start) VALUES ($1, 1, $2)
			ON CONFLICT (key) DO UPDATE SET
				failures = CASE WHEN l.window_start <= $2 - $3::interval THEN 1 ELSE l.failures + 1 END,
				window_start = CASE WHEN l.window_start <= $2 - $3::interval THEN $2 ELSE l.window_start END,
				locked_until = CASE WHEN l.window_start > $2 - $3::interval AND l.failures + 1 >= $4 THEN $2 + $5::interval
					ELSE l.locked_until END`,
			k, now, t.Window, t.Max, t.Lock)
		if err != nil {
			return fmt.Errorf("login throttle %s: %w", k, err)
		}
	}
	return nil
}

// LoginSucceeded forgets the failures of a key (a user who signed in).
func (db *DB) LoginSucceeded(ctx context.Context, key string) error {
	if _, err := db.Pool.Exec(ctx, `DELETE FROM login_throttle WHERE key = $1`, key); err != nil {
		return fmt.Errorf("login throttle %s: %w", key, err)
	}
	return nil
}
