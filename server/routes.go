package server

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/ledgerscope/ledgerscope/policies"
)

// route is one method and path, the Casbin object and action a request needs there (none
// for the public routes), and its handler.
type route struct {
	method, path string
	// name names the route in the access log and the audit trail.
	name string
	// object and action are what policies/policy.csv is asked; an empty object is public.
	object, action string
	handler        func(c *gin.Context) error
}

// Objects of the routes, as policies/policy.csv names them.
const (
	objProfile   = "profile"
	objDashboard = "dashboard"
	objLedger    = "ledger"
	objStatus    = "status"
	objMetrics   = "metrics"
)

// secondFactorSteps are the routes a session may use before it has passed its user's second
// factor: the steps to pass it, and signing out.
var secondFactorSteps = map[string]bool{"/login/totp": true, "/totp/enroll": true, "/logout": true}

// routeTable is every route of the portal, reviewed in one place: each non-public route
// names what the policy must allow.
func (s *Server) routeTable() []route {
	get, post := http.MethodGet, http.MethodPost
	r, w := policies.Read, policies.Write
	return []route{
		// Public: signing in, health, assets.
		{get, "/login", "login page", "", "", s.loginPage},
		{post, "/login", "login", "", "", s.login},
		{get, "/healthz", "healthz", "", "", s.healthz},
		{get, "/readyz", "readyz", "", "", s.readyz},
		{get, "/static/*path", "static", "", "", s.static},

		// Every signed-in user, the second factor's pages also before it is passed.
		{get, "/login/totp", "second factor", objProfile, r, s.totpPage},
		{post, "/login/totp", "second factor check", objProfile, w, s.totpVerify},
		{get, "/totp/enroll", "second factor enrolment", objProfile, r, s.enrollPage},
		{post, "/totp/enroll", "second factor confirmation", objProfile, w, s.enrollConfirm},
		{post, "/logout", "logout", objProfile, w, s.logout},
		{post, "/language", "language", "", "", s.setLanguage},
		{get, "/", "home", objProfile, r, s.home},

		// Status of the node and the sync.
		{get, "/status", "status", objStatus, r, s.statusPage},
		{get, "/api/v1/status", "api status", objStatus, r, s.apiStatus},
		{get, "/metrics", "metrics", objMetrics, r, s.serveMetrics},
	}
}
