package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Session is a signed-in browser: the cookie holds a random token, the row its SHA-256.
type Session struct {
	TokenHash    []byte    `gorm:"column:token_hash;primaryKey"`
	UserID       int64     `gorm:"column:user_id"`
	CreatedAt    time.Time `gorm:"column:created_at"`
	LastSeen     time.Time `gorm:"column:last_seen"`
	ExpiresAt    time.Time `gorm:"column:expires_at"`
	SecondFactor bool      `gorm:"column:second_factor"`
	ClientAddr   string    `gorm:"column:client_addr"`
	UserAgent    string    `gorm:"column:user_agent"`
}

// TableName implements gorm's Tabler.
func (Session) TableName() string { return "sessions" }

// CreateSession stores a new session.
func (db *DB) CreateSession(ctx context.Context, s *Session) error {
	if err := db.Gorm.WithContext(ctx).Create(s).Error; err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SignedIn is a live session with its user and the user's role bindings.
type SignedIn struct {
	Session Session
	User    User
	Roles   []UserRole
}

// SessionUser returns the session with that token hash, its user and roles, if the session
// is live at now: not past its absolute expiry, seen within idle, its user not disabled. It
// moves last_seen to now. Anything else is ErrNotFound, and an expired session is deleted.
func (db *DB) SessionUser(ctx context.Context, tokenHash []byte, now time.Time, idle time.Duration) (*SignedIn, error) {
	var out SignedIn
	err := db.Transact(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Session{}).Where("token_hash = ? AND expires_at > ? AND last_seen > ?", tokenHash, now, now.Add(-idle)).
			Update("last_seen", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			// Gone, or past a limit: a dead session is not kept.
			if err := tx.Where("token_hash = ?", tokenHash).Delete(&Session{}).Error; err != nil {
				return err
			}
			return ErrNotFound
		}
		if err := tx.Where("token_hash = ?", tokenHash).Take(&out.Session).Error; err != nil {
			return err
		}
		if err := tx.Where("id = ? AND NOT disabled", out.Session.UserID).Take(&out.User).Error; err != nil {
			return notFound(err, "session's user")
		}
		return tx.Where("user_id = ?", out.User.ID).Order("role, domain").Find(&out.Roles).Error
	})
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	return &out, nil
}

// MarkSecondFactor records that the session passed its user's second factor.
func (db *DB) MarkSecondFactor(ctx context.Context, tokenHash []byte) error {
	if err := db.Gorm.WithContext(ctx).Model(&Session{}).Where("token_hash = ?", tokenHash).Update("second_factor", true).Error; err != nil {
		return fmt.Errorf("session second factor: %w", err)
	}
	return nil
}

// DeleteSession ends one session.
func (db *DB) DeleteSession(ctx context.Context, tokenHash []byte) error {
	if err := db.Gorm.WithContext(ctx).Where("token_hash = ?", tokenHash).Delete(&Session{}).Error; err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of a user and returns how many there were.
func (db *DB) DeleteUserSessions(ctx context.Context, userID int64) (int64, error) {
	res := db.Gorm.WithContext(ctx).Where("user_id = ?", userID).Delete(&Session{})
	if res.Error != nil {
		return 0, fmt.Errorf("end sessions of user %d: %w", userID, res.Error)
	}
	return res.RowsAffected, nil
}

// PurgeSessions deletes the sessions past their absolute expiry or idle at now.
func (db *DB) PurgeSessions(ctx context.Context, now time.Time, idle time.Duration) (int64, error) {
	res := db.Gorm.WithContext(ctx).Where("expires_at <= ? OR last_seen <= ?", now, now.Add(-idle)).Delete(&Session{})
	if res.Error != nil {
		return 0, fmt.Errorf("purge sessions: %w", res.Error)
	}
	return res.RowsAffected, nil
}
