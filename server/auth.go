package server

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/users"
)

// loginView is the sign-in page.
type loginView struct {
	Base
	Username string
	Next     string
	// Error is the message key of why the last attempt failed; LockedUntil when locked.
	Error       string
	LockedUntil time.Time
}

// loginPage shows the sign-in form; a signed-in user goes home.
func (s *Server) loginPage(c *gin.Context) error {
	if signedIn(c) != nil {
		c.Redirect(http.StatusSeeOther, safeNext(c.Query("next")))
		return nil
	}
	s.render(c, http.StatusOK, "login.html", loginView{Base: s.base(c, "login.title"), Next: safeNext(c.Query("next"))})
	return nil
}

// login checks a user name and password. The answer to an unknown name and to a wrong
// password is the same page, and takes as long; failures are counted per name and per client
// address, and a locked key is refused before its password is looked at.
func (s *Server) login(c *gin.Context) error {
	ctx := c.Request.Context()
	name := strings.ToLower(strings.TrimSpace(c.PostForm("username")))
	password := c.PostForm("password")
	view := loginView{Base: s.base(c, "login.title"), Username: name, Next: safeNext(c.PostForm("next"))}
	keys := []string{"user:" + name, "addr:" + c.ClientIP()}
	now := s.cfg.Now()
	until, err := s.db.LoginLocked(ctx, keys, now)
	if err != nil {
		return err
	}
	if !until.IsZero() {
		view.Error, view.LockedUntil = "login.locked", until
		s.render(c, http.StatusTooManyRequests, "login.html", view)
		return nil
	}
	u, err := s.db.UserByName(ctx, name)
	var hash string
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	default:
		hash = u.PasswordHash
	}
	ok, err := users.PasswordMatches(password, hash)
	if err != nil {
		return err
	}
	if !ok || u == nil || u.Disabled {
		if err := s.countFailure(c, keys, now); err != nil {
			return err
		}
		view.Error = "login.failed"
		s.render(c, http.StatusUnauthorized, "login.html", view)
		return nil
	}
	if err := s.startSession(c, u); err != nil {
		return err
	}
	if err := s.db.LoginSucceeded(ctx, keys[0]); err != nil {
		return err
	}
	roles, err := s.db.UserRoles(ctx, u.ID)
	if err != nil {
		return err
	}
	if users.RequiresSecondFactor(u, roles[u.ID]) {
		c.Redirect(http.StatusSeeOther, secondFactorPage(&store.SignedIn{User: *u, Roles: roles[u.ID]}, view.Next))
		return nil
	}
	c.Redirect(http.StatusSeeOther, view.Next)
	return nil
}

// countFailure counts a failed sign-in against the user name and the address.
func (s *Server) countFailure(c *gin.Context, keys []string, now time.Time) error {
	t := s.cfg.Throttle
	if err := s.db.LoginFailed(c.Request.Context(), keys[:1], now, store.Throttle{Max: t.PerUser, Window: t.Window, Lock: t.Lock}); err != nil {
		return err
	}
	return s.db.LoginFailed(c.Request.Context(), keys[1:], now, store.Throttle{Max: t.PerAddr, Window: t.Window, Lock: t.Lock})
}

// startSession signs the user in with a new session: whatever session the browser had is
// ended, so a token planted before sign-in is worth nothing after it.
func (s *Server) startSession(c *gin.Context, u *store.User) error {
	ctx := c.Request.Context()
	if old, err := c.Cookie(sessionCookie); err == nil && old != "" {
		if err := s.db.DeleteSession(ctx, hashToken(old)); err != nil {
			return err
		}
	}
	tok, h, err := newToken()
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	err = s.db.CreateSession(ctx, &store.Session{TokenHash: h, UserID: u.ID, CreatedAt: now, LastSeen: now,
		ExpiresAt: now.Add(s.cfg.SessionLifetime), ClientAddr: c.ClientIP(), UserAgent: truncate(c.Request.UserAgent(), 200)})
	if err != nil {
		return err
	}
	s.setSessionCookie(c, tok)
	return nil
}

// logout ends the session on the server, not only in the browser.
func (s *Server) logout(c *gin.Context) error {
	if v, ok := c.Get(ctxToken); ok {
		if err := s.db.DeleteSession(c.Request.Context(), v.([]byte)); err != nil {
			return err
		}
	}
	s.clearSessionCookie(c)
	c.Redirect(http.StatusSeeOther, "/login")
	return nil
}

// safeNext is where to go after signing in: a path of this site, never another host.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.HasPrefix(next, "/login") {
		return "/"
	}
	return next
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
