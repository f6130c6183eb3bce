package server

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/users"
)

// totpView is the page that asks for a code at sign-in.
type totpView struct {
	Base
	Next  string
	Error string
}

// enrolView is the enrolment page: the QR code and secret, then the recovery codes once the
// first code confirmed it.
type enrolView struct {
	Base
	Next          string
	Enrolment     users.Enrolment
	Error         string
	RecoveryCodes []string
}

// needsSecondFactor says whether the session must still pass the user's second factor.
func needsSecondFactor(who *store.SignedIn) bool {
	return !who.Session.SecondFactor && users.RequiresSecondFactor(&who.User, who.Roles)
}

// secondFactorPage is where a session that has not passed its second factor goes: the code,
// or the enrolment a role that requires one has not done yet.
func secondFactorPage(who *store.SignedIn, next string) string {
	if who.User.TOTPEnabled {
		return "/login/totp?next=" + url.QueryEscape(next)
	}
	return "/totp/enroll?next=" + url.QueryEscape(next)
}

// totpPage asks for the code.
func (s *Server) totpPage(c *gin.Context) error {
	who := signedIn(c)
	if !who.User.TOTPEnabled {
		c.Redirect(http.StatusSeeOther, secondFactorPage(who, safeNext(c.Query("next"))))
		return nil
	}
	s.render(c, http.StatusOK, "totp.html", totpView{Base: s.base(c, "totp.title"), Next: safeNext(c.Query("next"))})
	return nil
}

// totpVerify checks a code (or a recovery code) and marks the session. Failures count
// against the user name as passwords do.
func (s *Server) totpVerify(c *gin.Context) error {
	who := signedIn(c)
	ctx := c.Request.Context()
	view := totpView{Base: s.base(c, "totp.title"), Next: safeNext(c.PostForm("next"))}
	keys := []string{"user:" + who.User.Username, "addr:" + c.ClientIP()}
	now := s.cfg.Now()
	until, err := s.db.LoginLocked(ctx, keys, now)
	if err != nil {
		return err
	}
	if !until.IsZero() {
		view.Error = "login.locked"
		s.render(c, http.StatusTooManyRequests, "totp.html", view)
		return nil
	}
	ok, err := s.checkSecondFactor(c, who, c.PostForm("code"))
	if err != nil {
		return err
	}
	if !ok {
		if err := s.countFailure(c, keys, now); err != nil {
			return err
		}
		view.Error = "totp.failed"
		s.render(c, http.StatusUnprocessableEntity, "totp.html", view)
		return nil
	}
	if err := s.db.MarkSecondFactor(ctx, tokenHash(c)); err != nil {
		return err
	}
	c.Redirect(http.StatusSeeOther, view.Next)
	return nil
}

// checkSecondFactor accepts a TOTP code of a step not used before, or an unspent recovery
// code.
func (s *Server) checkSecondFactor(c *gin.Context, who *store.SignedIn, code string) (bool, error) {
	ctx := c.Request.Context()
	if step, ok := users.TOTPStep(who.User.TOTPSecret, code, s.cfg.Now()); ok {
		return s.db.UseTOTPStep(ctx, who.User.ID, step)
	}
	return s.db.UseRecoveryCode(ctx, who.User.ID, users.RecoveryHash(code))
}

// enrollPage shows a new secret to scan, kept until a code confirms it.
func (s *Server) enrollPage(c *gin.Context) error {
	who := signedIn(c)
	if who.User.TOTPEnabled {
		c.Redirect(http.StatusSeeOther, "/")
		return nil
	}
	e, err := s.enrolment(c, who)
	if err != nil {
		return err
	}
	s.render(c, http.StatusOK, "enroll.html", enrolView{Base: s.base(c, "enroll.title"), Next: safeNext(c.Query("next")), Enrolment: e})
	return nil
}

// enrolment is the user's pending secret, made on the first visit.
func (s *Server) enrolment(c *gin.Context, who *store.SignedIn) (users.Enrolment, error) {
	if who.User.TOTPSecret != "" {
		return users.EnrolmentOf(who.User.Username, who.User.TOTPSecret)
	}
	e, err := users.NewTOTP(who.User.Username)
	if err != nil {
		return e, err
	}
	if err := s.db.SetTOTPSecret(c.Request.Context(), who.User.ID, e.Secret); err != nil {
		return e, err
	}
	who.User.TOTPSecret = e.Secret
	return e, nil
}

// enrollConfirm turns the second factor on once a code of the pending secret matches, marks
// the session as having passed it, and shows the recovery codes once.
func (s *Server) enrollConfirm(c *gin.Context) error {
	who := signedIn(c)
	ctx := c.Request.Context()
	if who.User.TOTPEnabled || who.User.TOTPSecret == "" {
		c.Redirect(http.StatusSeeOther, "/totp/enroll")
		return nil
	}
	next := safeNext(c.PostForm("next"))
	step, ok := users.TOTPStep(who.User.TOTPSecret, c.PostForm("code"), s.cfg.Now())
	if !ok {
		e, err := s.enrolment(c, who)
		if err != nil {
			return err
		}
		s.render(c, http.StatusUnprocessableEntity, "enroll.html", enrolView{Base: s.base(c, "enroll.title"), Next: next, Enrolment: e, Error: "totp.failed"})
		return nil
	}
	codes, hashes := users.NewRecoveryCodes()
	if err := s.db.EnableTOTP(ctx, who.User.ID, step, hashes); err != nil {
		return err
	}
	if err := s.db.MarkSecondFactor(ctx, tokenHash(c)); err != nil {
		return err
	}
	s.render(c, http.StatusOK, "enroll.html", enrolView{Base: s.base(c, "enroll.title"), Next: next, RecoveryCodes: codes})
	return nil
}

// tokenHash is the request's session token hash.
func tokenHash(c *gin.Context) []byte {
	v, _ := c.Get(ctxToken)
	h, _ := v.([]byte)
	return h
}
