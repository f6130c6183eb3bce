package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// Keys of what the middleware leaves in the gin context.
const (
	ctxSignedIn = "ls.signed_in" // *store.SignedIn
	ctxScope    = "ls.scope"     // Scope
	ctxError    = "ls.error"     // the error code of a failed request
	ctxToken    = "ls.token"     // the session token's hash
)

// contentSecurityPolicy allows only the portal's own scripts, styles and images: no inline
// script or style, no other origin, no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the headers every answer carries.
func (s *Server) securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	if s.cfg.TLS {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	c.Next()
}

// limitBody bounds every request body.
func (s *Server) limitBody(c *gin.Context) {
	if c.Request.Body != nil {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBodyBytes)
	}
	c.Next()
}

// recoverPanic turns a handler's panic into a logged 500.
func (s *Server) recoverPanic(c *gin.Context) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.writeError(c, fmt.Errorf("panic: %v", p))
			c.Abort()
		}
	}()
	c.Next()
}

// accessLog logs each request once it is answered: who, in which role and member, which
// route, the status and how long it took. Never a password, a token or a cookie: the query
// string is logged, and no form or header.
func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	took := time.Since(start)
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	attrs := []slog.Attr{
		slog.String("method", c.Request.Method), slog.String("route", route),
		slog.String("query", c.Request.URL.RawQuery), slog.Int("status", c.Writer.Status()),
		slog.Duration("duration", took), slog.String("client", c.ClientIP()),
	}
	if who := signedIn(c); who != nil {
		attrs = append(attrs, slog.String("user", who.User.Username))
	}
	if sc, ok := scopeOf(c); ok {
		attrs = append(attrs, slog.String("role", sc.Binding.Role), slog.String("member", sc.Binding.Domain))
	}
	if code, ok := c.Get(ctxError); ok {
		attrs = append(attrs, slog.Any("error", code))
	}
	s.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "http", attrs...)
	if s.metrics != nil {
		s.metrics.observe(c.Request.Method, route, c.Writer.Status(), took)
	}
}

// handle runs a route's handler and answers its error.
func (s *Server) handle(r route) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := r.handler(c); err != nil {
			s.writeError(c, err)
		}
	}
}
