package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// User is a person who signs in to the portal.
type User struct {
	ID                int64     `gorm:"column:id;primaryKey"`
	Username          string    `gorm:"column:username"`
	DisplayName       string    `gorm:"column:display_name"`
	PasswordHash      string    `gorm:"column:password_hash"`
	Language          string    `gorm:"column:language"`
	TOTPSecret        string    `gorm:"column:totp_secret"`
	TOTPEnabled       bool      `gorm:"column:totp_enabled"`
	TOTPLastStep      int64     `gorm:"column:totp_last_step"`
	Disabled          bool      `gorm:"column:disabled"`
	PasswordChangedAt time.Time `gorm:"column:password_changed_at"`
	CreatedAt         time.Time `gorm:"column:created_at"`
	UpdatedAt         time.Time `gorm:"column:updated_at"`
}

// TableName implements gorm's Tabler.
func (User) TableName() string { return "users" }

// UserRole binds a user to a role in a domain: a member id, or * for the roles that are for
// every member.
type UserRole struct {
	UserID    int64     `gorm:"column:user_id;primaryKey"`
	Role      string    `gorm:"column:role;primaryKey"`
	Domain    string    `gorm:"column:domain;primaryKey"`
	GrantedBy string    `gorm:"column:granted_by"`
	GrantedAt time.Time `gorm:"column:granted_at"`
}

// TableName implements gorm's Tabler.
func (UserRole) TableName() string { return "user_roles" }

// CreateUser inserts a user with its role bindings, in one transaction. A taken user name
// is ErrConflict.
func (db *DB) CreateUser(ctx context.Context, u *User, roles []UserRole) error {
	return db.Transact(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(u).Error; err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("user %s exists: %w", u.Username, ErrConflict)
			}
			return fmt.Errorf("create user %s: %w", u.Username, err)
		}
		for i := range roles {
			roles[i].UserID = u.ID
		}
		if len(roles) > 0 {
			if err := tx.Create(&roles).Error; err != nil {
				return fmt.Errorf("roles of %s: %w", u.Username, err)
			}
		}
		return nil
	})
}

// UserByName returns the user with that name, or ErrNotFound.
func (db *DB) UserByName(ctx context.Context, name string) (*User, error) {
	var u User
	err := db.Gorm.WithContext(ctx).Where("username = ?", name).Take(&u).Error
	if err != nil {
		return nil, notFound(err, "user "+name)
	}
	return &u, nil
}

// Users lists every user by name, at most limit.
func (db *DB) Users(ctx context.Context, limit int) ([]User, error) {
	var us []User
	if err := db.Gorm.WithContext(ctx).Order("username").Limit(limit).Find(&us).Error; err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	return us, nil
}

// UserRoles returns the role bindings of the users, by user id.
func (db *DB) UserRoles(ctx context.Context, userIDs ...int64) (map[int64][]UserRole, error) {
	var rs []UserRole
	if err := db.Gorm.WithContext(ctx).Where("user_id IN ?", userIDs).Order("user_id, role, domain").Find(&rs).Error; err != nil {
		return nil, fmt.Errorf("user roles: %w", err)
	}
	out := map[int64][]UserRole{}
	for _, r := range rs {
		out[r.UserID] = append(out[r.UserID], r)
	}
	return out, nil
}

// SetUserRoles replaces a user's role bindings.
func (db *DB) SetUserRoles(ctx context.Context, userID int64, roles []UserRole) error {
	return db.Transact(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("user_id = ?", userID).Delete(&UserRole{}).Error; err != nil {
			return fmt.Errorf("roles of user %d: %w", userID, err)
		}
		for i := range roles {
			roles[i].UserID = userID
		}
		if len(roles) == 0 {
			return nil
		}
		return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&roles).Error
	})
}

// SetPassword replaces a user's password hash and ends its sessions: whoever knew the old
// password is signed out.
func (db *DB) SetPassword(ctx context.Context, userID int64, hash string) error {
	return db.Transact(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&User{}).Where("id = ?", userID).
			Updates(map[string]any{"password_hash": hash, "password_changed_at": gorm.Expr("now()"), "updated_at": gorm.Expr("now()")})
		if res.Error != nil {
			return fmt.Errorf("password of user %d: %w", userID, res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("user %d: %w", userID, ErrNotFound)
		}
		return tx.Where("user_id = ?", userID).Delete(&Session{}).Error
	})
}

// SetDisabled disables or enables a user; disabling ends its sessions.
func (db *DB) SetDisabled(ctx context.Context, userID int64, disabled bool) error {
	return db.Transact(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&User{}).Where("id = ?", userID).Updates(map[string]any{"disabled": disabled, "updated_at": gorm.Expr("now()")})
		if res.Error != nil {
			return fmt.Errorf("disable user %d: %w", userID, res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("user %d: %w", userID, ErrNotFound)
		}
		if !disabled {
			return nil
		}
		return tx.Where("user_id = ?", userID).Delete(&Session{}).Error
	})
}

// SetLanguage records the user's chosen language ("" follows the browser).
func (db *DB) SetLanguage(ctx context.Context, userID int64, lang string) error {
	err := db.Gorm.WithContext(ctx).Model(&User{}).Where("id = ?", userID).Update("language", lang).Error
	if err != nil {
		return fmt.Errorf("language of user %d: %w", userID, err)
	}
	return nil
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation (23505).
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
