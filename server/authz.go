package server

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/ledgerscope/ledgerscope/policies"
	"github.com/ledgerscope/ledgerscope/store"
)

// Scope is what a request may see, from the binding that allowed it: every member's rows,
// or one member's; beneficial-owner references in clear, or masked.
type Scope struct {
	Binding policies.Binding
	// Member is the member whose rows alone the request sees; empty for every member.
	Member string
	// MaskOwners hides beneficial-owner references and account labels (the SAC reviewer).
	MaskOwners bool
}

// bindings are the user's role bindings as the policy takes them.
func bindings(who *store.SignedIn) []policies.Binding {
	out := make([]policies.Binding, len(who.Roles))
	for i, r := range who.Roles {
		out[i] = policies.Binding{Role: r.Role, Domain: r.Domain}
	}
	return out
}

// authorize lets a request through to a route only if the policy allows the route's object
// and action under one of the user's bindings, and leaves that binding's Scope for the
// handler's queries. A public route lets everyone through; a request without a session is
// sent to sign in (a page) or refused (the API).
func (s *Server) authorize(r route) gin.HandlerFunc {
	return func(c *gin.Context) {
		if r.object == "" {
			c.Next()
			return
		}
		who := signedIn(c)
		if who == nil {
			s.refuseAnonymous(c)
			return
		}
		if needsSecondFactor(who) && !secondFactorSteps[r.path] {
			s.refusePending(c, who)
			return
		}
		b, ok, err := s.authz.Decide(bindings(who), r.object, r.action)
		if err != nil {
			s.writeError(c, err)
			c.Abort()
			return
		}
		if !ok {
			s.writeError(c, errForbidden)
			c.Abort()
			return
		}
		sc := Scope{Binding: b}
		if policies.MemberRole(b.Role) {
			sc.Member = b.Domain
		}
		_, clear, err := s.authz.Decide([]policies.Binding{b}, "owner_refs", policies.Read)
		if err != nil {
			s.writeError(c, err)
			c.Abort()
			return
		}
		sc.MaskOwners = !clear
		c.Set(ctxScope, sc)
		c.Next()
	}
}

// refuseAnonymous sends a page request to the sign-in page, back to where it was going
// afterwards, and answers an API request 401.
func (s *Server) refuseAnonymous(c *gin.Context) {
	if isAPI(c) || c.Request.Method != http.MethodGet {
		s.writeError(c, errUnauthorized)
		c.Abort()
		return
	}
	c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
	c.Abort()
}

// refusePending sends a session that has not passed its second factor to do so (a page), or
// refuses it (the API).
func (s *Server) refusePending(c *gin.Context, who *store.SignedIn) {
	if isAPI(c) || c.Request.Method != http.MethodGet {
		s.writeError(c, errUnauthorized)
		c.Abort()
		return
	}
	c.Redirect(http.StatusSeeOther, secondFactorPage(who, c.Request.URL.RequestURI()))
	c.Abort()
}

// scopeOf is the request's scope, once authorised.
func scopeOf(c *gin.Context) (Scope, bool) {
	v, ok := c.Get(ctxScope)
	if !ok {
		return Scope{}, false
	}
	return v.(Scope), true
}

// allowed says whether the signed-in user may do act on obj under any binding: for the
// navigation, which shows only what the user can open.
func (s *Server) allowed(c *gin.Context, obj, act string) bool {
	who := signedIn(c)
	if who == nil {
		return false
	}
	_, ok, err := s.authz.Decide(bindings(who), obj, act)
	return err == nil && ok
}
