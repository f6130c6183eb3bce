// Package pgserver finds the PostgreSQL server LedgerScope uses: the one DATABASE_URL names, a
// server already listening on 127.0.0.1:5432, or a private cluster it starts itself from the
// machine's PostgreSQL binaries and stops on exit. A new user gets a working database from the
// first command, and one clear message when there is no way to get one.
package pgserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Source says where the server came from.
type Source string

// Sources, in the order Discover tries them.
const (
	SourceEnv     Source = "env"     // DATABASE_URL
	SourceLocal   Source = "local"   // a server already on the local address
	SourcePrivate Source = "private" // a private cluster started by this process
)

// Defaults of Config.
const (
	DefaultLocalAddr    = "127.0.0.1:5432"
	DefaultDir          = "var/pg"
	DefaultProbeTimeout = 2 * time.Second
	DefaultStartTimeout = 60 * time.Second
)

// Config says where to look. The zero value looks in the default places.
type Config struct {
	// URL is a connection URL; when set it is the only place looked at. Callers pass
	// DATABASE_URL here.
	URL string
	// LocalAddr is the address of a server that may already run; "-" skips it.
	LocalAddr string
	// LocalUser is the role to connect to the local server as; default "postgres".
	LocalUser string
	// Dir holds the private cluster (its data directory is Dir/data).
	Dir string
	// BinDir holds initdb and pg_ctl; empty searches PATH, then /usr/lib/postgresql/*/bin.
	BinDir string
	// RunAs is the OS user that owns and runs the private cluster when this process is root,
	// since initdb refuses root; empty tries "postgres", then "nobody".
	RunAs string
	// Port of the private cluster; 0 picks a free one.
	Port int
	// ProbeTimeout bounds each connection attempt while looking.
	ProbeTimeout time.Duration
	// StartTimeout bounds initdb and the start of the private cluster.
	StartTimeout time.Duration
	// Logger receives what was found; nil discards.
	Logger *slog.Logger
}

// Server is a PostgreSQL server to use.
type Server struct {
	// URL connects to the server's default database as a superuser (or DATABASE_URL as given).
	URL string
	// Source is where the server came from.
	Source  Source
	cluster *Cluster
}

// ErrNoPostgres is returned when no server was found and none could be started.
var ErrNoPostgres = errors.New("no PostgreSQL server: set DATABASE_URL, run a server on 127.0.0.1:5432, " +
	"or install PostgreSQL's server binaries (Debian: apt-get install postgresql) so that a private cluster can be started")

// FromEnv is a Config with URL taken from DATABASE_URL.
func FromEnv() Config { return Config{URL: os.Getenv("DATABASE_URL")} }

func (c *Config) defaults() {
	if c.LocalAddr == "" {
		c.LocalAddr = DefaultLocalAddr
	}
	if c.LocalUser == "" {
		c.LocalUser = "postgres"
	}
	if c.Dir == "" {
		c.Dir = DefaultDir
	}
	if c.ProbeTimeout <= 0 {
		c.ProbeTimeout = DefaultProbeTimeout
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Discover returns the first server that answers, starting the private cluster if it has to.
// The caller must Close the server, which stops a private cluster.
func Discover(ctx context.Context, cfg Config) (*Server, error) {
	cfg.defaults()
	if cfg.URL != "" {
		if err := Ping(ctx, cfg.URL, cfg.ProbeTimeout); err != nil {
			return nil, fmt.Errorf("DATABASE_URL: %w", err)
		}
		cfg.Logger.Info("postgres found", "source", SourceEnv)
		return &Server{URL: cfg.URL, Source: SourceEnv}, nil
	}
	var errs []error
	if cfg.LocalAddr != "-" {
		u := URL(cfg.LocalAddr, cfg.LocalUser, "postgres")
		err := Ping(ctx, u, cfg.ProbeTimeout)
		if err == nil {
			cfg.Logger.Info("postgres found", "source", SourceLocal, "addr", cfg.LocalAddr)
			return &Server{URL: u, Source: SourceLocal}, nil
		}
		errs = append(errs, fmt.Errorf("server on %s: %w", cfg.LocalAddr, err))
	}
	cl, err := StartCluster(ctx, ClusterConfig{
		Dir: cfg.Dir, BinDir: cfg.BinDir, RunAs: cfg.RunAs, Port: cfg.Port,
		StartTimeout: cfg.StartTimeout, Logger: cfg.Logger,
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("private cluster: %w", err))
		return nil, fmt.Errorf("%w (%w)", ErrNoPostgres, errors.Join(errs...))
	}
	u := cl.URL("postgres")
	if err := Ping(ctx, u, cfg.StartTimeout); err != nil {
		_ = cl.Stop()
		return nil, fmt.Errorf("%w: private cluster started but does not answer: %w", ErrNoPostgres, err)
	}
	cfg.Logger.Info("postgres started", "source", SourcePrivate, "dir", cl.DataDir(), "port", cl.Port())
	return &Server{URL: u, Source: SourcePrivate, cluster: cl}, nil
}

// Close stops the private cluster if this process started it; other servers are left running.
func (s *Server) Close() error {
	if s.cluster == nil {
		return nil
	}
	return s.cluster.Stop()
}

// URL builds a connection URL for a server on addr, without TLS (the server is local).
func URL(addr, user, database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(user),
		Host:     addr,
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// WithDatabase returns rawURL with its database replaced.
func WithDatabase(rawURL, database string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("parse database url: %w", err)
	}
	u.Path = "/" + database
	return u.String(), nil
}

// Ping connects once and runs SELECT 1, retrying refused connections until timeout: a server
// that is starting refuses for a moment.
func Ping(ctx context.Context, rawURL string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return fmt.Errorf("parse database url: %w", err)
	}
	cfg.ConnectTimeout = min(timeout, DefaultProbeTimeout)
	var last error
	for {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			var one int
			err = conn.QueryRow(ctx, "SELECT 1").Scan(&one)
			_ = conn.Close(context.Background())
			if err == nil {
				return nil
			}
		}
		last = err
		if !retryable(err) {
			return last
		}
		select {
		case <-ctx.Done():
			return last
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// retryable reports whether a failed connection may succeed soon: refused while the server
// starts, or "the database system is starting up".
func retryable(err error) bool {
	var ne *net.OpError
	if errors.As(err, &ne) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"connection refused", "starting up", "shutting down", "no such file"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// DatabaseURL returns the URL of the application database on the server. A URL from
// DATABASE_URL is used as given; on a server found or started here, the database name is
// created if it does not exist.
func (s *Server) DatabaseURL(ctx context.Context, name string) (string, error) {
	if s.Source == SourceEnv {
		return s.URL, nil
	}
	conn, err := pgx.Connect(ctx, s.URL)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", fmt.Errorf("look up database %s: %w", name, err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return "", fmt.Errorf("create database %s: %w", name, err)
		}
	}
	return WithDatabase(s.URL, name)
}

// DropDatabase drops a database on a server found or started here, for a demo that starts its
// chain afresh. A database named by DATABASE_URL is never dropped: it is the operator's.
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	if s.Source == SourceEnv {
		return nil
	}
	conn, err := pgx.Connect(ctx, s.URL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}
