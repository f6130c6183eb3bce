package users

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
	"github.com/trustelem/zxcvbn"
)

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 12

// minPasswordScore is zxcvbn's guessability score a password must reach (0 to 4): 3 is "safely
// unguessable" against an offline attack on a slow hash; its dictionaries hold the common
// passwords and words.
const minPasswordScore = 3

// passwordParams are argon2id's costs: OWASP's recommended 19 MiB, 2 passes, one thread, so
// that a sign-in costs tens of milliseconds and a guess as much.
var passwordParams = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// ErrWeakPassword is a password refused by the policy; its text says why.
var ErrWeakPassword = errors.New("password refused")

// CheckPassword applies the password policy: long enough, not the user name, not a common
// or easily guessed password.
func CheckPassword(password, username string) error {
	if n := utf8.RuneCountInString(password); n < MinPasswordLength {
		return fmt.Errorf("%w: %d characters, at least %d needed", ErrWeakPassword, n, MinPasswordLength)
	}
	if strings.Contains(strings.ToLower(password), strings.ToLower(username)) {
		return fmt.Errorf("%w: it contains the user name", ErrWeakPassword)
	}
	if r := zxcvbn.PasswordStrength(password, []string{username, "ledgerscope", "portal"}); r.Score < minPasswordScore {
		return fmt.Errorf("%w: too common or too easy to guess (strength %d of 4, %d needed)", ErrWeakPassword, r.Score, minPasswordScore)
	}
	return nil
}

// HashPassword is the stored form of a password: argon2id in its PHC string.
func HashPassword(password string) (string, error) {
	h, err := argon2id.CreateHash(password, passwordParams)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// dummyHash is compared against when the user name is unknown, so that an unknown name takes
// as long to refuse as a wrong password.
var dummyHash = func() string {
	h, err := HashPassword("not the password of anyone at all")
	if err != nil {
		panic(err)
	}
	return h
}()

// PasswordMatches compares a password with a stored hash; an empty hash (no such user)
// still costs a comparison and never matches.
func PasswordMatches(password, hash string) (bool, error) {
	if hash == "" {
		_, err := argon2id.ComparePasswordAndHash(password, dummyHash)
		return false, err
	}
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	if err != nil {
		return false, fmt.Errorf("compare password: %w", err)
	}
	return ok, nil
}
