package server

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/policies"
	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
	"github.com/ledgerscope/ledgerscope/users"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testPassword is every test user's password: long and random enough for the policy.
const testPassword = "quartz-meadow-lantern-91"

// testTOTPSecret is the second factor of the test users whose role requires one.
const testTOTPSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// clock is a settable clock for session expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testPortal is a server on a fresh database with two members and a user for every role
// (named after the role; the member roles at HTSC).
type testPortal struct {
	t     *testing.T
	db    *store.DB
	srv   *Server
	http  *httptest.Server
	clock *clock
}

func newTestPortal(t *testing.T) *testPortal {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	for _, m := range []string{"HTSC", "GTJA"} {
		if _, err := db.Pool.Exec(ctx, `INSERT INTO members (id, name, roles, operator, height) VALUES ($1, $1, '{broker}', $2, 0)`,
			m, []byte(strings.Repeat(m[:1], 20))); err != nil {
			t.Fatal(err)
		}
	}
	for _, role := range policies.Roles {
		b := policies.Binding{Role: role}
		if policies.MemberRole(role) {
			b.Domain = "HTSC"
		}
		u, err := users.Add(ctx, db, users.New{Username: strings.ReplaceAll(role, "_", "-"), Password: testPassword,
			Bindings: []policies.Binding{b}, By: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if users.RequiresSecondFactor(u, []store.UserRole{{Role: role}}) {
			if err := db.SetTOTPSecret(ctx, u.ID, testTOTPSecret); err != nil {
				t.Fatal(err)
			}
			if err := db.EnableTOTP(ctx, u.ID, 0, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	ck := &clock{t: time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)}
	srv, err := New(Config{DB: db, Now: ck.now, MaxSyncLag: -1})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &testPortal{t: t, db: db, srv: srv, http: hs, clock: ck}
}

// client is a browser: it keeps cookies and does not follow redirects, so tests see them.
func (p *testPortal) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// login signs in as user, with the second factor when the user has one, and returns the
// client holding the session.
func (p *testPortal) login(user string) *http.Client {
	p.t.Helper()
	c := p.client()
	resp := p.post(c, "/login", url.Values{"username": {user}, "password": {testPassword}})
	if resp.StatusCode != http.StatusSeeOther {
		p.t.Fatalf("login %s: status %d", user, resp.StatusCode)
	}
	if strings.HasPrefix(resp.Header.Get("Location"), "/login/totp") {
		p.passTOTP(c)
	}
	return c
}

// passTOTP enters the current code, then lets the clock pass the step so that the next
// sign-in's code is a new one.
func (p *testPortal) passTOTP(c *http.Client) {
	p.t.Helper()
	code, err := users.TOTPCode(testTOTPSecret, p.clock.now())
	if err != nil {
		p.t.Fatal(err)
	}
	if resp := p.post(c, "/login/totp", url.Values{"code": {code}}); resp.StatusCode != http.StatusSeeOther {
		p.t.Fatalf("second factor: status %d", resp.StatusCode)
	}
	p.clock.add(30 * time.Second)
}

func (p *testPortal) get(c *http.Client, path string) *http.Response {
	p.t.Helper()
	resp, err := c.Get(p.http.URL + path)
	if err != nil {
		p.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// post sends a form as the portal's own pages do: same origin.
func (p *testPortal) post(c *http.Client, path string, form url.Values) *http.Response {
	p.t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.http.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", p.http.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestEveryRouteByRole walks every registered route as every role and checks that the
// answer is what the policy says: allowed routes are served, the others refused with 403.
// A route with no object must be one of the known public ones.
func TestEveryRouteByRole(t *testing.T) {
	p := newTestPortal(t)
	public := map[string]bool{"/login": true, "/healthz": true, "/readyz": true, "/static/*path": true, "/language": true}
	// Each route's own answer to an allowed request with no form: what it is asked does not
	// matter here, only that the policy let it through.
	enf, err := policies.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range policies.Roles {
		c := p.login(strings.ReplaceAll(role, "_", "-"))
		dom := policies.AllMembers
		if policies.MemberRole(role) {
			dom = "HTSC"
		}
		for _, r := range p.srv.routes {
			if r.object == "" {
				if !public[r.path] {
					t.Errorf("%s %s has no policy object and is not a public route", r.method, r.path)
				}
				continue
			}
			if r.path == "/logout" {
				continue // it would end the session the walk uses; TestLogout covers it
			}
			_, want, err := enf.Decide([]policies.Binding{{Role: role, Domain: dom}}, r.object, r.action)
			if err != nil {
				t.Fatal(err)
			}
			path := strings.ReplaceAll(r.path, "*path", "app.css")
			var resp *http.Response
			if r.method == http.MethodGet {
				resp = p.get(c, path)
			} else {
				resp = p.post(c, path, url.Values{})
			}
			got := resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized
			if got != want {
				t.Errorf("%s %s %s: status %d, want allowed=%v", role, r.method, r.path, resp.StatusCode, want)
			}
		}
	}
}

func TestAnonymousIsSentToSignIn(t *testing.T) {
	p := newTestPortal(t)
	c := p.client()
	resp := p.get(c, "/status?x=1")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Fstatus%3Fx%3D1" {
		t.Errorf("anonymous page: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := p.get(c, "/api/v1/status"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous API: %d, want 401", resp.StatusCode)
	}
	if resp := p.get(c, "/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("healthz: %d", resp.StatusCode)
	}
}

// TestLoginDoesNotTellUsersApart: an unknown user and a wrong password get the same answer.
func TestLoginDoesNotTellUsersApart(t *testing.T) {
	p := newTestPortal(t)
	body := func(user, password string) (int, string) {
		resp, err := p.client().PostForm(p.http.URL+"/login", url.Values{"username": {user}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, strings.ReplaceAll(b.String(), user, "USER")
	}
	s1, b1 := body("regulator", "wrong-password-entirely")
	s2, b2 := body("nobody-at-all", "wrong-password-entirely")
	if s1 != http.StatusUnauthorized || s1 != s2 || b1 != b2 {
		t.Errorf("wrong password: %d, unknown user: %d; pages differ: %v", s1, s2, b1 != b2)
	}
}

func TestLoginThrottle(t *testing.T) {
	p := newTestPortal(t)
	c := p.client()
	for i := range DefaultThrottle.PerUser {
		if resp := p.post(c, "/login", url.Values{"username": {"regulator"}, "password": {"not-it-" + string(rune('a'+i))}}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, resp.StatusCode)
		}
	}
	// Locked now, even with the right password.
	if resp := p.post(c, "/login", url.Values{"username": {"regulator"}, "password": {testPassword}}); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after %d failures: %d, want 429", DefaultThrottle.PerUser, resp.StatusCode)
	}
	// Another user from elsewhere is not locked out by it.
	if resp := p.post(p.client(), "/login", url.Values{"username": {"auditor"}, "password": {testPassword}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("another user: %d", resp.StatusCode)
	}
	p.clock.add(DefaultThrottle.Lock + time.Second)
	if resp := p.post(c, "/login", url.Values{"username": {"regulator"}, "password": {testPassword}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after the lock: %d", resp.StatusCode)
	}
}

func TestSessionLimits(t *testing.T) {
	p := newTestPortal(t)
	c := p.login("regulator")
	if resp := p.get(c, "/status"); resp.StatusCode != http.StatusOK {
		t.Fatalf("signed in: %d", resp.StatusCode)
	}
	// Idle: 29 minutes is fine, then 31 without a request ends it.
	p.clock.add(29 * time.Minute)
	if resp := p.get(c, "/status"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after 29 idle minutes: %d", resp.StatusCode)
	}
	p.clock.add(31 * time.Minute)
	if resp := p.get(c, "/status"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after 31 idle minutes: %d, want a redirect to sign in", resp.StatusCode)
	}
	// Absolute: busy all along, the session still ends after 12 hours.
	c = p.login("regulator")
	for range 12*3 - 1 {
		p.clock.add(20 * time.Minute)
		if resp := p.get(c, "/status"); resp.StatusCode != http.StatusOK {
			t.Fatalf("busy session ended early at %s: %d", p.clock.now(), resp.StatusCode)
		}
	}
	p.clock.add(20 * time.Minute)
	if resp := p.get(c, "/status"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after 12 hours: %d, want a redirect to sign in", resp.StatusCode)
	}
}

// TestLogoutAndFixation: signing in replaces whatever session token the browser had, and
// signing out ends the session on the server, so a copied cookie is worth nothing.
func TestLogoutAndFixation(t *testing.T) {
	p := newTestPortal(t)
	c := p.login("auditor")
	u, _ := url.Parse(p.http.URL)
	before := c.Jar.Cookies(u)[0].Value
	if resp := p.post(c, "/login", url.Values{"username": {"auditor"}, "password": {testPassword}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatal(resp.StatusCode)
	}
	after := c.Jar.Cookies(u)[0].Value
	if before == after {
		t.Fatal("signing in kept the session token")
	}
	stale := p.client()
	stale.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: before}})
	if resp := p.get(stale, "/status"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the token before sign-in still works: %d", resp.StatusCode)
	}
	copied := p.client()
	copied.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: after}})
	if resp := p.post(c, "/logout", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatal(resp.StatusCode)
	}
	if resp := p.get(copied, "/status"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a copy of the cookie works after logout: %d", resp.StatusCode)
	}
}

// TestCrossOriginWritesRefused: a state-changing request from another site is refused
// before any handler, for every POST route.
func TestCrossOriginWritesRefused(t *testing.T) {
	p := newTestPortal(t)
	c := p.login("admin")
	for _, r := range p.srv.routes {
		if r.method == http.MethodGet {
			continue
		}
		req, _ := http.NewRequest(r.method, p.http.URL+r.path, strings.NewReader("lang=en"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site %s %s: %d, want 403", r.method, r.path, resp.StatusCode)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	p := newTestPortal(t)
	resp := p.get(p.client(), "/login")
	for h, want := range map[string]string{
		"Content-Security-Policy": "frame-ancestors 'none'", "X-Content-Type-Options": "nosniff",
		"Referrer-Policy": "same-origin", "X-Frame-Options": "DENY",
	} {
		if !strings.Contains(resp.Header.Get(h), want) {
			t.Errorf("%s = %q, want it to hold %q", h, resp.Header.Get(h), want)
		}
	}
	if strings.Contains(resp.Header.Get("Content-Security-Policy"), "unsafe-inline") {
		t.Error("the CSP allows inline code")
	}
}
