package users

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/ledgerscope/ledgerscope/policies"
	"github.com/ledgerscope/ledgerscope/store"
)

// totpIssuer names the portal in the user's authenticator app.
const totpIssuer = "LedgerScope"

// totpPeriod is the TOTP time step, as authenticator apps assume.
const totpPeriod = 30

// recoveryCodeCount is how many recovery codes an enrolment issues.
const recoveryCodeCount = 10

// RequiresSecondFactor says whether the user must pass a TOTP code at sign-in: a role that
// can see everything unmasked or change who sees what must, and anyone who enrolled does.
func RequiresSecondFactor(u *store.User, roles []store.UserRole) bool {
	if u.TOTPEnabled {
		return true
	}
	for _, r := range roles {
		if r.Role == policies.RoleRegulator || r.Role == policies.RoleAdmin {
			return true
		}
	}
	return false
}

// Enrolment is a new TOTP secret as the user sees it: the secret to type in, the otpauth URL
// and its QR code as a PNG data URL.
type Enrolment struct {
	Secret string
	URL    string
	QR     string
}

// NewTOTP makes a TOTP secret for the user.
func NewTOTP(username string) (Enrolment, error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: username, Period: totpPeriod})
	if err != nil {
		return Enrolment{}, fmt.Errorf("totp: %w", err)
	}
	return EnrolmentOf(username, k.Secret())
}

// EnrolmentOf is the enrolment view of an existing secret.
func EnrolmentOf(username, secret string) (Enrolment, error) {
	k, err := otp.NewKeyFromURL(fmt.Sprintf("otpauth://totp/%s:%s?secret=%s&issuer=%s&period=%d&digits=6&algorithm=SHA1",
		totpIssuer, username, secret, totpIssuer, totpPeriod))
	if err != nil {
		return Enrolment{}, fmt.Errorf("totp: %w", err)
	}
	img, err := k.Image(220, 220)
	if err != nil {
		return Enrolment{}, fmt.Errorf("totp qr: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Enrolment{}, fmt.Errorf("totp qr: %w", err)
	}
	return Enrolment{Secret: secret, URL: k.URL(), QR: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())}, nil
}

// TOTPStep returns the time step whose code matches, trying the step of now and one either
// side for clocks a little apart, or false.
func TOTPStep(secret, code string, now time.Time) (int64, bool) {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return 0, false
	}
	step := now.Unix() / totpPeriod
	for _, s := range []int64{step, step - 1, step + 1} {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*totpPeriod, 0), totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && want == code {
			return s, true
		}
	}
	return 0, false
}

// TOTPCode is the code of the secret at t: for the demo's logins and for tests.
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCode(secret, t)
}

// NewRecoveryCodes makes the one-time codes shown once at enrolment, and their hashes.
func NewRecoveryCodes() ([]string, [][]byte) {
	codes := make([]string, recoveryCodeCount)
	hashes := make([][]byte, recoveryCodeCount)
	for i := range codes {
		t := strings.ToLower(rand.Text()[:10])
		codes[i] = t[:5] + "-" + t[5:]
		hashes[i] = RecoveryHash(codes[i])
	}
	return codes, hashes
}

// RecoveryHash is how a recovery code is stored and looked up: case and the dash do not
// matter to the person typing it.
func RecoveryHash(code string) []byte {
	c := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))
	h := sha256.Sum256([]byte(c))
	return h[:]
}
