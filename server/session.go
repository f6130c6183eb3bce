package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ledgerscope/ledgerscope/store"
)

// sessionCookie names the cookie that holds a session's token.
const sessionCookie = "ls_session"

// newToken returns a random 32-byte token, as the client holds it, and its SHA-256, as the
// database keeps it.
func newToken() (string, []byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	return tok, hashToken(tok), nil
}

// hashToken is the key a token is stored under.
func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// loadSession finds the signed-in user of the request's session cookie, if the session is
// live; a dead one's cookie is cleared. Routes decide what a request without one gets.
func (s *Server) loadSession(c *gin.Context) {
	// The assets and the probes are public: reading (and touching) the session for each of a
	// page's assets would be a database write apiece for nothing.
	if p := c.Request.URL.Path; strings.HasPrefix(p, "/static/") || p == "/healthz" || p == "/readyz" {
		c.Next()
		return
	}
	tok, err := c.Cookie(sessionCookie)
	if err != nil || tok == "" {
		c.Next()
		return
	}
	h := hashToken(tok)
	who, err := s.db.SessionUser(c.Request.Context(), h, s.cfg.Now(), s.cfg.SessionIdle)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.clearSessionCookie(c)
	case err != nil:
		s.writeError(c, err)
		c.Abort()
		return
	default:
		c.Set(ctxSignedIn, who)
		c.Set(ctxToken, h)
	}
	c.Next()
}

// setSessionCookie gives the browser its session token: not readable by script, sent on
// same-site navigation only, Secure behind TLS. It lives as long as the session may.
func (s *Server) setSessionCookie(c *gin.Context, tok string) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: sessionCookie, Value: tok, Path: "/", HttpOnly: true, Secure: s.cfg.TLS,
		SameSite: http.SameSiteLaxMode, MaxAge: int(s.cfg.SessionLifetime.Seconds()),
	})
}

func (s *Server) clearSessionCookie(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: s.cfg.TLS,
		SameSite: http.SameSiteLaxMode, MaxAge: -1,
	})
}

// signedIn is the request's signed-in user, or nil.
func signedIn(c *gin.Context) *store.SignedIn {
	v, ok := c.Get(ctxSignedIn)
	if !ok {
		return nil
	}
	return v.(*store.SignedIn)
}
