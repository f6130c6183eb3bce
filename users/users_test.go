package users

import (
	"errors"
	"testing"
)

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		password, user string
		ok             bool
	}{
		{"short", "alice", false},
		{"password1234", "alice", false},
		{"qwertyuiopasdf", "alice", false},
		{"alice-is-my-name-99", "alice", false},
		{"1234567890123", "alice", false},
		{"quartz-meadow-lantern-91", "alice", true},
		{GeneratePassword(), "alice", true},
	}
	for _, tt := range tests {
		err := CheckPassword(tt.password, tt.user)
		if (err == nil) != tt.ok {
			t.Errorf("CheckPassword(%q) = %v, want ok %v", tt.password, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrWeakPassword) {
			t.Errorf("CheckPassword(%q) error %v is not ErrWeakPassword", tt.password, err)
		}
	}
}

func TestHashAndMatch(t *testing.T) {
	h, err := HashPassword("quartz-meadow-lantern-91")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		password, hash string
		want           bool
	}{
		{"quartz-meadow-lantern-91", h, true},
		{"quartz-meadow-lantern-92", h, false},
		{"quartz-meadow-lantern-91", "", false},
	} {
		if got, err := PasswordMatches(tt.password, tt.hash); err != nil || got != tt.want {
			t.Errorf("PasswordMatches(%q) = %v, %v; want %v", tt.password, got, err, tt.want)
		}
	}
	if _, err := PasswordMatches("x", "$argon2id$garbage"); err == nil {
		t.Error("a malformed stored hash compared without error")
	}
}
