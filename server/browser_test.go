package server

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ledgerscope/ledgerscope/policies"
	"github.com/ledgerscope/ledgerscope/users"
)

// browserFlags start Debian's Chromium headless on a closed network: without the
// background-networking flags it tries to reach Google's hosts at every start.
var browserFlags = []chromedp.ExecAllocatorOption{
	chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
	chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
	chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.WindowSize(1366, 900),
}

// browser starts a headless Chromium for the test. Without one the test fails: make test
// installs Debian's chromium; LEDGERSCOPE_CHROMIUM names another binary.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("LEDGERSCOPE_CHROMIUM")
	if path == "" {
		path, _ = exec.LookPath("chromium")
	}
	if path == "" {
		t.Fatal("no chromium on PATH: install Debian's chromium package (make test does)")
	}
	opts := append([]chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.UserDataDir(t.TempDir())}, browserFlags...)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancel3)
	return ctx
}

// shots is where screenshots are kept: LEDGERSCOPE_SCREENSHOTS, else the test's temporary
// directory.
func shots(t *testing.T) string {
	dir := os.Getenv("LEDGERSCOPE_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// shoot saves a full-page screenshot.
func shoot(dir, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		b, err := chromedp.FullScreenshot(100)(ctx, tg)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644)
	})
}

// signIn opens the sign-in page and signs in; code is the second factor's, when the user
// has one.
func signIn(base, user, code string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.Navigate(base+"/login"), fillSignIn(user, code))
}

// fillSignIn fills the sign-in form on the page as a person would, sends it, and enters the
// second factor's code when there is one.
func fillSignIn(user, code string) chromedp.Action[chromedp.Void] {
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Submit(chromedp.CSS("#password")),
	}
	if code != "" {
		steps = append(steps, chromedp.WaitVisible(chromedp.CSS("#code")), chromedp.SendKeys(chromedp.CSS("#code"), code),
			chromedp.Submit(chromedp.CSS("#code")), chromedp.WaitNotPresent(chromedp.CSS("#code")))
	}
	return chromedp.Steps(append(steps, chromedp.WaitVisible(chromedp.CSS("main h1")))...)
}

// text reads an element's visible text.
func text(ctx context.Context, t *testing.T, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// do runs steps or fails the test.
func do(ctx context.Context, t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserSignInAndLanguage signs in through the form in Chromium as a regulator and as a
// member user, opens their pages, and switches to Chinese and back.
func TestBrowserSignInAndLanguage(t *testing.T) {
	ctx := browser(t)
	p := newTestPortal(t)
	dir := shots(t)
	// Sent to sign in on the way to a page, and brought back to it after.
	code, err := users.TOTPCode(testTOTPSecret, p.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	do(ctx, t, chromedp.Navigate(p.http.URL+"/status"), chromedp.WaitVisible(chromedp.CSS("#username")), shoot(dir, "login-en"),
		fillSignIn("regulator", code))
	heading, role := text(ctx, t, "main h1"), text(ctx, t, ".role")
	do(ctx, t, shoot(dir, "regulator-status-en"), chromedp.Click(chromedp.CSS(`button[name="lang"]`)),
		chromedp.WaitReady(chromedp.CSS(`html[lang="zh-CN"] main h1`)))
	zh := text(ctx, t, "main h1")
	do(ctx, t, shoot(dir, "regulator-status-zh"), chromedp.Click(chromedp.CSS(`button[name="lang"]`)),
		chromedp.WaitReady(chromedp.CSS(`html[lang="en"] main h1`)), chromedp.Navigate(p.http.URL+"/"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	nav := text(ctx, t, "header nav")
	do(ctx, t, shoot(dir, "regulator-home-en"))
	if heading != "Node and sync" || !strings.Contains(role, "Regulator") || zh != "节点与同步" || !strings.Contains(nav, "Node and sync") {
		t.Errorf("after sign-in: heading %q, role %q, in Chinese %q, nav %q", heading, role, zh, nav)
	}

	// A member user, in a fresh browser profile: signed in, sees its member in the header.
	ctx2 := browser(t)
	do(ctx2, t, signIn(p.http.URL, "member-user", ""), shoot(dir, "member-user-home-en"))
	if who := text(ctx2, t, ".role"); !strings.Contains(who, "HTSC") {
		t.Errorf("member user's header says %q, want its member HTSC", who)
	}
	t.Logf("screenshots in %s", dir)
}

// TestBrowserEveryRoleBothLanguages signs in as every role and keeps a screenshot of its home
// page in English and in Chinese, for people to look at; the header names the role in each.
func TestBrowserEveryRoleBothLanguages(t *testing.T) {
	p := newTestPortal(t)
	dir := shots(t)
	for _, role := range policies.Roles {
		user := strings.ReplaceAll(role, "_", "-")
		ctx := browser(t)
		code := ""
		if role == policies.RoleRegulator || role == policies.RoleAdmin {
			var err error
			if code, err = users.TOTPCode(testTOTPSecret, p.clock.now()); err != nil {
				t.Fatal(err)
			}
		}
		do(ctx, t, signIn(p.http.URL, user, code), shoot(dir, user+"-home-en"))
		en := text(ctx, t, ".role")
		do(ctx, t, chromedp.Click(chromedp.CSS(`button[name="lang"]`)),
			chromedp.WaitReady(chromedp.CSS(`html[lang="zh-CN"] main h1`)), shoot(dir, user+"-home-zh"))
		zh := text(ctx, t, ".role")
		if en == zh || en == "" || zh == "" {
			t.Errorf("%s: role in the header %q in English, %q in Chinese", role, en, zh)
		}
		p.clock.add(30 * time.Second) // the next TOTP sign-in needs a new code
	}
}
