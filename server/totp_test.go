package server

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/policies"
	"github.com/ledgerscope/ledgerscope/users"
)

// TestSecondFactor: a regulator who has not enrolled must enrol before anything else; the
// first code turns it on and shows recovery codes once; a code is good once; a recovery code
// stands in for a code once.
func TestSecondFactor(t *testing.T) {
	p := newTestPortal(t)
	ctx := context.Background()
	if _, err := users.Add(ctx, p.db, users.New{Username: "new-regulator", Password: testPassword,
		Bindings: []policies.Binding{{Role: policies.RoleRegulator}}, By: "test"}); err != nil {
		t.Fatal(err)
	}
	c := p.client()
	resp := p.post(c, "/login", url.Values{"username": {"new-regulator"}, "password": {testPassword}, "next": {"/status"}})
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/totp/enroll") {
		t.Fatalf("a regulator without a second factor went to %q, want the enrolment", loc)
	}
	if resp := p.get(c, "/status"); !strings.HasPrefix(resp.Header.Get("Location"), "/totp/enroll") {
		t.Fatalf("before enrolling, /status: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := p.get(c, "/api/v1/status"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("before enrolling, the API: %d, want 401", resp.StatusCode)
	}
	if resp := p.get(c, "/totp/enroll"); resp.StatusCode != http.StatusOK {
		t.Fatalf("enrolment page: %d", resp.StatusCode)
	}
	u, err := p.db.UserByName(ctx, "new-regulator")
	if err != nil || u.TOTPSecret == "" {
		t.Fatalf("no pending secret after the enrolment page: %v", err)
	}
	if resp := p.post(c, "/totp/enroll", url.Values{"code": {"000000"}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a wrong code enrolled: %d", resp.StatusCode)
	}
	code, _ := users.TOTPCode(u.TOTPSecret, p.clock.now())
	body := postBody(t, p, c, "/totp/enroll", url.Values{"code": {code}})
	codes := regexp.MustCompile(`<code>([a-z0-9]{5}-[a-z0-9]{5})</code>`).FindAllStringSubmatch(body, -1)
	if len(codes) != 10 {
		t.Fatalf("recovery codes shown: %d, want 10", len(codes))
	}
	if resp := p.get(c, "/status"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after enrolling: %d", resp.StatusCode)
	}

	// The same code again, in a new sign-in within its 30 seconds, is refused.
	c2 := p.client()
	p.post(c2, "/login", url.Values{"username": {"new-regulator"}, "password": {testPassword}})
	if resp := p.post(c2, "/login/totp", url.Values{"code": {code}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a used code was accepted again: %d", resp.StatusCode)
	}
	// A recovery code works, once.
	if resp := p.post(c2, "/login/totp", url.Values{"code": {strings.ToUpper(codes[0][1])}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a recovery code was refused: %d", resp.StatusCode)
	}
	c3 := p.client()
	p.post(c3, "/login", url.Values{"username": {"new-regulator"}, "password": {testPassword}})
	if resp := p.post(c3, "/login/totp", url.Values{"code": {codes[0][1]}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a spent recovery code was accepted: %d", resp.StatusCode)
	}
	// The next step's code is good.
	p.clock.add(30 * time.Second)
	next, _ := users.TOTPCode(u.TOTPSecret, p.clock.now())
	if resp := p.post(c3, "/login/totp", url.Values{"code": {next}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the next code was refused: %d", resp.StatusCode)
	}
}

// postBody posts a same-origin form and returns the page.
func postBody(t *testing.T, p *testPortal, c *http.Client, path string, form url.Values) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.http.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", p.http.URL)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d", path, resp.StatusCode)
	}
	return string(b)
}
