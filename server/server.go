// Package server is the portal's web tier: gin serving the pages and the JSON API, every
// route authorised by the Casbin policy (package policies) and scoped to the member of the
// binding that allowed it. It holds nothing a request needs in memory: sessions, throttles
// and users are in PostgreSQL, so that replicas can share a load balancer.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ledgerscope/ledgerscope/policies"
	"github.com/ledgerscope/ledgerscope/store"
)

// Defaults of Config.
const (
	DefaultListen      = "127.0.0.1:8080"
	DefaultIdleTimeout = 30 * time.Minute
	DefaultLifetime    = 12 * time.Hour
	// maxBodyBytes bounds a request body: forms and API calls are small.
	maxBodyBytes = 1 << 20
	// shutdownGrace is how long in-flight requests may finish once the server is told to stop.
	shutdownGrace = 10 * time.Second
)

// Config is what the web tier needs.
type Config struct {
	// Listen is the host:port to serve on.
	Listen string
	// DB is the application database.
	DB *store.DB
	// Logger receives the access log and errors.
	Logger *slog.Logger
	// Registry, when set, is served at /metrics with the HTTP metrics added to it.
	Registry *prometheus.Registry
	// SessionIdle and SessionLifetime are a session's idle and absolute limits.
	SessionIdle, SessionLifetime time.Duration
	// Throttle bounds failed sign-ins per user name and per client address.
	Throttle Throttle
	// MaxSyncLag is how old the synced block may be for /readyz; 0 is DefaultMaxSyncLag, a
	// negative value does not check.
	MaxSyncLag time.Duration
	// TLS says the portal is reached over HTTPS (directly or through a proxy), so cookies
	// are marked Secure.
	TLS bool
	// Now is the clock; nil is time.Now. Tests move it to expire sessions.
	Now func() time.Time
}

// Throttle bounds failed sign-ins.
type Throttle struct {
	// PerUser and PerAddr are the failures allowed per user name and per client address
	// within Window before the key is locked for Lock.
	PerUser, PerAddr int
	Window, Lock     time.Duration
}

// DefaultThrottle allows 5 failures per user name and 20 per address in 15 minutes.
var DefaultThrottle = Throttle{PerUser: 5, PerAddr: 20, Window: 15 * time.Minute, Lock: 15 * time.Minute}

// Server is the web tier.
type Server struct {
	cfg     Config
	db      *store.DB
	log     *slog.Logger
	authz   *policies.Enforcer
	pages   *pages
	engine  *gin.Engine
	routes  []route
	metrics *httpMetrics
}

// New builds the server and its routes. It does not listen.
func New(cfg Config) (*Server, error) {
	if cfg.DB == nil {
		return nil, errors.New("server: no database")
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = DefaultIdleTimeout
	}
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = DefaultLifetime
	}
	if cfg.MaxSyncLag == 0 {
		cfg.MaxSyncLag = DefaultMaxSyncLag
	}
	if cfg.Throttle == (Throttle{}) {
		cfg.Throttle = DefaultThrottle
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	authz, err := policies.New()
	if err != nil {
		return nil, err
	}
	pg, err := loadPages()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, db: cfg.DB, log: cfg.Logger, authz: authz, pages: pg}
	if cfg.Registry != nil {
		s.metrics = newHTTPMetrics(cfg.Registry)
	}
	s.routes = s.routeTable()
	s.engine = s.buildEngine()
	return s, nil
}

// Handler is the whole web tier as an http.Handler, with CSRF protection outside gin: a
// cross-origin browser request that changes state is refused before any handler sees it.
func (s *Server) Handler() http.Handler {
	return http.NewCrossOriginProtection().Handler(s.engine)
}

// Listen opens the listener, so that a caller learns at start-up that the port is taken.
func (s *Server) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("web: listen %s: %w", s.cfg.Listen, err)
	}
	return ln, nil
}

// Serve serves on ln until ctx ends, then lets in-flight requests finish.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("web: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("web: shutdown: %w", err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("web: %w", err)
	}
	return nil
}

// buildEngine makes the gin engine: the middleware every request passes, then the routes.
func (s *Server) buildEngine() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.Use(s.recoverPanic, s.securityHeaders, s.limitBody, s.accessLog, s.loadSession)
	for _, r := range s.routes {
		e.Handle(r.method, r.path, s.authorize(r), s.handle(r))
	}
	e.NoRoute(s.handle(route{name: "not found", handler: func(*gin.Context) error { return errNotFound }}))
	e.NoMethod(s.handle(route{name: "method not allowed", handler: func(*gin.Context) error { return errMethod }}))
	return e
}
