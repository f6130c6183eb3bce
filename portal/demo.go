package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ledgerscope/ledgerscope/policies"
	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/users"
)

// DemoLoginsFile is where a devnet keeps its demo users' logins, readable by its owner only.
func DemoLoginsFile(home string) string { return filepath.Join(home, "demo-logins.json") }

// DemoLogin is one demo user, as printed and written for a newcomer.
type DemoLogin struct {
	Username string `json:"username"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Member   string `json:"member,omitempty"`
	Password string `json:"password"`
	// TOTPSecret is the second factor's secret of a role that requires one: add it to an
	// authenticator app, or print a code with ledgerscope users demo-code NAME.
	TOTPSecret string `json:"totp_secret,omitempty"`
}

// demoUsers is a user for every role: a compliance officer and a user of two different
// members, so that member scope can be seen from both sides.
var demoUsers = []DemoLogin{
	{Username: "csrc", Name: "CSRC inspector", Role: policies.RoleRegulator},
	{Username: "sac", Name: "SAC reviewer", Role: policies.RoleSACReviewer},
	{Username: "htsc-compliance", Name: "HTSC compliance officer", Role: policies.RoleMemberCompliance, Member: "HTSC"},
	{Username: "gtja-user", Name: "GTJA analyst", Role: policies.RoleMemberUser, Member: "GTJA"},
	{Username: "auditor", Name: "Portal auditor", Role: policies.RoleAuditor},
	{Username: "admin", Name: "Portal administrator", Role: policies.RoleAdmin},
}

// membersTimeout bounds the wait for the sync to write the chain's members, which the
// member users' bindings name.
const membersTimeout = 2 * time.Minute

// SeedDemoUsers makes sure the demo users exist with the passwords in the home's logins file,
// creating the file on a first start (mode 0600) and resetting the password of a user the
// database has but the file does not know. It waits for the sync to write the members first.
func SeedDemoUsers(ctx context.Context, db *store.DB, home string) ([]DemoLogin, error) {
	if err := waitForMembers(ctx, db); err != nil {
		return nil, err
	}
	path := DemoLoginsFile(home)
	known := map[string]DemoLogin{}
	if b, err := os.ReadFile(path); err == nil {
		var saved []DemoLogin
		if err := json.Unmarshal(b, &saved); err != nil {
			return nil, fmt.Errorf("demo logins %s: %w", path, err)
		}
		for _, l := range saved {
			known[l.Username] = l
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("demo logins: %w", err)
	}
	out := make([]DemoLogin, len(demoUsers))
	for i, d := range demoUsers {
		d.Password, d.TOTPSecret = known[d.Username].Password, known[d.Username].TOTPSecret
		if d.Password == "" {
			d.Password = users.GeneratePassword()
		}
		if err := ensureDemoUser(ctx, db, &d); err != nil {
			return nil, err
		}
		out[i] = d
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("demo logins: %w", err)
	}
	return out, nil
}

// ensureDemoUser creates the user, or sets its password to the one given, and gives a role
// that requires a second factor its TOTP secret.
func ensureDemoUser(ctx context.Context, db *store.DB, d *DemoLogin) error {
	u, err := db.UserByName(ctx, d.Username)
	if errors.Is(err, store.ErrNotFound) {
		u, err = users.Add(ctx, db, users.New{Username: d.Username, DisplayName: d.Name, Password: d.Password,
			Bindings: []policies.Binding{{Role: d.Role, Domain: d.Member}}, By: "demo"})
	} else if err == nil {
		err = ensureDemoPassword(ctx, db, u, d.Password)
	}
	if err != nil {
		return err
	}
	if !users.RequiresSecondFactor(u, []store.UserRole{{Role: d.Role, Domain: d.Member}}) {
		d.TOTPSecret = ""
		return nil
	}
	return ensureDemoTOTP(ctx, db, u, d)
}

// ensureDemoPassword sets the user's password to the one the logins file holds.
func ensureDemoPassword(ctx context.Context, db *store.DB, u *store.User, password string) error {
	ok, err := users.PasswordMatches(password, u.PasswordHash)
	if err != nil || ok {
		return err
	}
	hash, err := users.HashPassword(password)
	if err != nil {
		return err
	}
	return db.SetPassword(ctx, u.ID, hash)
}

// ensureDemoTOTP turns the user's second factor on with the logins file's secret, or a new
// one.
func ensureDemoTOTP(ctx context.Context, db *store.DB, u *store.User, d *DemoLogin) error {
	if u.TOTPEnabled && u.TOTPSecret == d.TOTPSecret && d.TOTPSecret != "" {
		return nil
	}
	if u.TOTPEnabled || u.TOTPSecret != "" {
		if err := db.ResetTOTP(ctx, u.ID); err != nil {
			return err
		}
	}
	if d.TOTPSecret == "" {
		e, err := users.NewTOTP(d.Username)
		if err != nil {
			return err
		}
		d.TOTPSecret = e.Secret
	}
	if err := db.SetTOTPSecret(ctx, u.ID, d.TOTPSecret); err != nil {
		return err
	}
	return db.EnableTOTP(ctx, u.ID, 0, nil)
}

// DemoCode is the current TOTP code of a demo user, from the home's logins file.
func DemoCode(home, username string, now time.Time) (string, error) {
	b, err := os.ReadFile(DemoLoginsFile(home))
	if err != nil {
		return "", fmt.Errorf("demo logins: %w", err)
	}
	var saved []DemoLogin
	if err := json.Unmarshal(b, &saved); err != nil {
		return "", fmt.Errorf("demo logins: %w", err)
	}
	for _, l := range saved {
		if l.Username == username {
			if l.TOTPSecret == "" {
				return "", fmt.Errorf("demo user %s has no second factor", username)
			}
			return users.TOTPCode(l.TOTPSecret, now)
		}
	}
	return "", fmt.Errorf("no demo user %s in %s", username, DemoLoginsFile(home))
}

// waitForMembers waits until the sync has written the chain's members.
func waitForMembers(ctx context.Context, db *store.DB) error {
	ctx, cancel := context.WithTimeout(ctx, membersTimeout)
	defer cancel()
	for {
		ms, err := db.Members(ctx)
		if err == nil && len(ms) > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo users: the sync wrote no members within %s: %w", membersTimeout, errors.Join(err, ctx.Err()))
		case <-time.After(200 * time.Millisecond):
		}
	}
}
