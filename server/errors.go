package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ledgerscope/ledgerscope/store"
)

// httpError is an error a user may be shown: a status, a stable code for the API, and the
// message's key in the catalogue. The cause is for the log only.
type httpError struct {
	status int
	code   string
	msg    string
	cause  error
}

func (e *httpError) Error() string {
	if e.cause != nil {
		return e.code + ": " + e.cause.Error()
	}
	return e.code
}

func (e *httpError) Unwrap() error { return e.cause }

// The errors handlers return; wrap a cause with withCause.
var (
	errNotFound     = &httpError{http.StatusNotFound, "not_found", "error.not_found", nil}
	errMethod       = &httpError{http.StatusMethodNotAllowed, "method_not_allowed", "error.method_not_allowed", nil}
	errForbidden    = &httpError{http.StatusForbidden, "forbidden", "error.forbidden", nil}
	errUnauthorized = &httpError{http.StatusUnauthorized, "unauthorized", "error.unauthorized", nil}
	errBadRequest   = &httpError{http.StatusBadRequest, "bad_request", "error.bad_request", nil}
	errTooLarge     = &httpError{http.StatusRequestEntityTooLarge, "too_large", "error.too_large", nil}
	errUnavailable  = &httpError{http.StatusServiceUnavailable, "unavailable", "error.unavailable", nil}
	errInternal     = &httpError{http.StatusInternalServerError, "internal", "error.internal", nil}
)

// withCause is e with the cause that made it, for the log.
func withCause(e *httpError, cause error) *httpError {
	c := *e
	c.cause = cause
	return &c
}

// asHTTPError maps any error a handler returns to what the user is shown: the store's
// sentinels to their statuses, everything unknown to a 500 whose text stays in the log.
func asHTTPError(err error) *httpError {
	var he *httpError
	switch {
	case errors.As(err, &he):
		return he
	case errors.Is(err, store.ErrNotFound):
		return withCause(errNotFound, err)
	case errors.Is(err, store.ErrInvalid):
		return withCause(errBadRequest, err)
	case errors.Is(err, context.DeadlineExceeded):
		return withCause(errUnavailable, err)
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return withCause(errTooLarge, err)
	}
	return withCause(errInternal, err)
}

// writeError answers a failed request: JSON under /api/, a page otherwise. Only a 5xx's
// cause is logged at error level; it never reaches the client.
func (s *Server) writeError(c *gin.Context, err error) {
	he := asHTTPError(err)
	if he.status >= 500 {
		s.log.Error("request failed", "route", c.FullPath(), "status", he.status, "err", err)
	} else if he.cause != nil {
		s.log.Debug("request refused", "route", c.FullPath(), "status", he.status, "err", err)
	}
	c.Set(ctxError, he.code)
	if isAPI(c) {
		c.JSON(he.status, gin.H{"error": gin.H{"code": he.code, "message": s.pages.translate(c, he.msg)}})
		return
	}
	s.render(c, he.status, "error.html", errorView{Base: s.base(c, "error.title"), Status: he.status, Message: he.msg})
}

// errorView is the error page.
type errorView struct {
	Base
	Status  int
	Message string
}

// isAPI says whether the request is for the JSON API.
func isAPI(c *gin.Context) bool {
	return strings.HasPrefix(c.Request.URL.Path, "/api/")
}
