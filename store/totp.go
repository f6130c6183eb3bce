package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// SetTOTPSecret stores the secret of an enrolment that has not been confirmed yet. A user
// whose second factor is on keeps its secret: an admin resets it first.
func (db *DB) SetTOTPSecret(ctx context.Context, userID int64, secret string) error {
	res := db.Gorm.WithContext(ctx).Model(&User{}).Where("id = ? AND NOT totp_enabled", userID).
		Updates(map[string]any{"totp_secret": secret, "updated_at": gorm.Expr("now()")})
	if res.Error != nil {
		return fmt.Errorf("totp secret of user %d: %w", userID, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("user %d has a second factor already: %w", userID, ErrConflict)
	}
	return nil
}

// EnableTOTP turns the user's second factor on, having accepted a code of step, and replaces
// its recovery codes with those given (as SHA-256).
func (db *DB) EnableTOTP(ctx context.Context, userID, step int64, recoveryHashes [][]byte) error {
	return db.Transact(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&User{}).Where("id = ? AND totp_secret <> ''", userID).
			Updates(map[string]any{"totp_enabled": true, "totp_last_step": step, "updated_at": gorm.Expr("now()")})
		if res.Error != nil {
			return fmt.Errorf("enable totp of user %d: %w", userID, res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("user %d has no enrolment to confirm: %w", userID, ErrConflict)
		}
		return replaceRecoveryCodes(tx, userID, recoveryHashes)
	})
}

func replaceRecoveryCodes(tx *gorm.DB, userID int64, hashes [][]byte) error {
	if err := tx.Exec(`DELETE FROM recovery_codes WHERE user_id = ?`, userID).Error; err != nil {
		return fmt.Errorf("recovery codes of user %d: %w", userID, err)
	}
	for _, h := range hashes {
		if err := tx.Exec(`INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)`, userID, h).Error; err != nil {
			return fmt.Errorf("recovery codes of user %d: %w", userID, err)
		}
	}
	return nil
}

// UseTOTPStep records that a code of step was accepted, and reports false when a code of
// that step or a later one already was: a code is good once.
func (db *DB) UseTOTPStep(ctx context.Context, userID, step int64) (bool, error) {
	res := db.Gorm.WithContext(ctx).Model(&User{}).Where("id = ? AND totp_last_step < ?", userID, step).Update("totp_last_step", step)
	if res.Error != nil {
		return false, fmt.Errorf("totp step of user %d: %w", userID, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// UseRecoveryCode spends one of the user's recovery codes, and reports false when it is not
// one of them or was spent.
func (db *DB) UseRecoveryCode(ctx context.Context, userID int64, hash []byte) (bool, error) {
	res := db.Gorm.WithContext(ctx).Exec(`UPDATE recovery_codes SET used_at = now() WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`, userID, hash)
	if res.Error != nil {
		return false, fmt.Errorf("recovery code of user %d: %w", userID, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// ResetTOTP turns a user's second factor off and forgets its secret and recovery codes (a
// lost authenticator, by an admin); the user's sessions end.
func (db *DB) ResetTOTP(ctx context.Context, userID int64) error {
	return db.Transact(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&User{}).Where("id = ?", userID).
			Updates(map[string]any{"totp_enabled": false, "totp_secret": "", "totp_last_step": 0, "updated_at": gorm.Expr("now()")})
		if res.Error != nil {
			return fmt.Errorf("reset totp of user %d: %w", userID, res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("user %d: %w", userID, ErrNotFound)
		}
		if err := replaceRecoveryCodes(tx, userID, nil); err != nil {
			return err
		}
		return tx.Where("user_id = ?", userID).Delete(&Session{}).Error
	})
}
