// Package appdb opens the application's PostgreSQL database the one way every part of the
// binary does: it finds the server (DATABASE_URL, else a server on 127.0.0.1:5432, else a
// private cluster it starts from the machine's PostgreSQL binaries), creates the database on
// a found or private server, opens it and applies pending migrations. The portal and the
// commands that read or change the database share it, so that each finds the same database.
package appdb

import (
	"context"
	"log/slog"
	"net/url"

	"github.com/ledgerscope/ledgerscope/migrations"
	"github.com/ledgerscope/ledgerscope/pgserver"
	"github.com/ledgerscope/ledgerscope/store"
)

// DefaultName is the database used on a found or private server unless told otherwise.
const DefaultName = "ledgerscope"

// Config says where the database is: URL if set, else a server on 127.0.0.1:5432, else a
// private cluster under PGDir.
type Config struct {
	// URL is DATABASE_URL; when set, the other fields are not used.
	URL string
	// PGDir is the private cluster's directory.
	PGDir string
	// Name is the database created on a found or private server.
	Name string
}

// Options say what Open does beyond opening.
type Options struct {
	// Migrate applies pending migrations; only the migrate command opens without.
	Migrate bool
	// Afresh first drops the database Open would create (never one named by URL): a new
	// chain must not meet an old one's rows, which the sync would refuse as another chain's.
	Afresh bool
}

// DB is an open database and the server under it.
type DB struct {
	*store.DB
	srv *pgserver.Server
	url string
	log *slog.Logger
}

// URL is the connection string of the application database, for people (psql) to use.
func (d *DB) URL() string { return d.url }

// RedactedURL is URL with any password hidden, for banners and logs.
func (d *DB) RedactedURL() string {
	u, err := url.Parse(d.url)
	if err != nil {
		return "(unprintable database URL)"
	}
	return u.Redacted()
}

// Close closes the pool and stops a private cluster this process started.
func (d *DB) Close() {
	if d.DB != nil {
		d.DB.Close()
	}
	if err := d.srv.Close(); err != nil {
		d.log.Warn("stop private postgres", "err", err)
	}
}

// Open finds the server, opens the application database and does what o asks. log receives
// the server's and the migrations' messages; nil discards them.
func Open(ctx context.Context, c Config, log *slog.Logger, o Options) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv, err := pgserver.Discover(ctx, pgserver.Config{URL: c.URL, Dir: c.PGDir, Logger: log})
	if err != nil {
		return nil, err
	}
	d := &DB{srv: srv, log: log}
	if err := d.open(ctx, c.Name, o); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// open opens the database name on d's server, after dropping it when o.Afresh is set, and
// migrates it when o.Migrate is set.
func (d *DB) open(ctx context.Context, name string, o Options) error {
	if o.Afresh {
		if err := d.srv.DropDatabase(ctx, name); err != nil {
			return err
		}
	}
	u, err := d.srv.DatabaseURL(ctx, name)
	if err != nil {
		return err
	}
	d.url = u
	if d.DB, err = store.Open(ctx, store.Config{URL: u, Logger: d.log}); err != nil {
		return err
	}
	if !o.Migrate {
		return nil
	}
	n, err := migrations.Up(ctx, d.SQL(), d.log)
	if err != nil {
		return err
	}
	if n > 0 {
		d.log.Info("migrations applied", "count", n)
	}
	return nil
}
