// Package users administers the portal's users: the password policy and hashing, and the
// creation of users with their role bindings, for the users command, the demo and the admin
// pages alike.
package users

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/ledgerscope/ledgerscope/policies"
	"github.com/ledgerscope/ledgerscope/store"
)

// validName is what a user name may be: what the users table's check allows.
var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,63}$`)

// ErrInvalid is an argument refused before anything is written; its text says why.
var ErrInvalid = errors.New("invalid")

// New is a user to create.
type New struct {
	Username    string
	DisplayName string
	Password    string
	Language    string
	Bindings    []policies.Binding
	// By names who creates it, for the bindings' record.
	By string
}

// Add checks and creates a user with its bindings. Every member a binding names must be a
// member of the synced chain.
func Add(ctx context.Context, db *store.DB, n New) (*store.User, error) {
	n.Username = strings.ToLower(strings.TrimSpace(n.Username))
	if !validName.MatchString(n.Username) {
		return nil, fmt.Errorf("%w: user name %q: 2 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit", ErrInvalid, n.Username)
	}
	if err := CheckPassword(n.Password, n.Username); err != nil {
		return nil, err
	}
	roles, err := checkBindings(ctx, db, n.Bindings, n.By)
	if err != nil {
		return nil, err
	}
	hash, err := HashPassword(n.Password)
	if err != nil {
		return nil, err
	}
	u := &store.User{Username: n.Username, DisplayName: n.DisplayName, PasswordHash: hash, Language: n.Language}
	if err := db.CreateUser(ctx, u, roles); err != nil {
		return nil, err
	}
	return u, nil
}

// SetBindings replaces a user's role bindings, after checking them.
func SetBindings(ctx context.Context, db *store.DB, userID int64, bs []policies.Binding, by string) error {
	roles, err := checkBindings(ctx, db, bs, by)
	if err != nil {
		return err
	}
	return db.SetUserRoles(ctx, userID, roles)
}

// checkBindings refuses an impossible binding or an unknown member, and makes the rows.
func checkBindings(ctx context.Context, db *store.DB, bs []policies.Binding, by string) ([]store.UserRole, error) {
	var members []store.Member
	var roles []store.UserRole
	for _, b := range bs {
		if policies.MemberRole(b.Role) && b.Domain == "" {
			return nil, fmt.Errorf("%w: role %s needs --member", ErrInvalid, b.Role)
		}
		if !policies.MemberRole(b.Role) && b.Domain == "" {
			b.Domain = policies.AllMembers
		}
		if err := b.Check(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		if policies.MemberRole(b.Role) {
			if members == nil {
				var err error
				if members, err = db.Members(ctx); err != nil {
					return nil, err
				}
			}
			if !slices.ContainsFunc(members, func(m store.Member) bool { return m.ID == b.Domain }) {
				return nil, fmt.Errorf("%w: no member %q on the synced chain", ErrInvalid, b.Domain)
			}
		}
		roles = append(roles, store.UserRole{Role: b.Role, Domain: b.Domain, GrantedBy: by})
	}
	return roles, nil
}

// GeneratePassword is a random password that passes the policy: 26 characters of base32,
// 130 bits, for the demo's users and the resets an admin hands over.
func GeneratePassword() string { return rand.Text() }
