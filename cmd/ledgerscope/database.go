package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/migrations"
	"github.com/ledgerscope/ledgerscope/pgserver"
	"github.com/ledgerscope/ledgerscope/store"
)

// dbConfig says where the database is: DATABASE_URL if set, else a server on 127.0.0.1:5432,
// else a private cluster under PGDir.
type dbConfig struct {
	URL   string // DATABASE_URL
	PGDir string // private cluster directory
	Name  string // database created on a found or private server
}

// addDBFlags registers the database flags; DATABASE_URL is read from the environment.
func addDBFlags(cmd *cobra.Command, c *dbConfig) {
	c.URL = os.Getenv("DATABASE_URL")
	cmd.Flags().StringVar(&c.PGDir, "pg-dir", pgserver.DefaultDir, "directory of the private PostgreSQL cluster, used when neither DATABASE_URL nor a server on 127.0.0.1:5432 is there")
	cmd.Flags().StringVar(&c.Name, "db-name", "ledgerscope", "database to use on a found or private server (ignored with DATABASE_URL)")
}

// database is an open, migrated database and the server under it.
type database struct {
	*store.DB
	srv *pgserver.Server
	url string
}

// URL is the connection string of the application database, for people (psql) to use.
func (d *database) URL() string { return d.url }

// Close closes the pool and stops a private cluster this process started.
func (d *database) Close() {
	if d.DB != nil {
		d.DB.Close()
	}
	if err := d.srv.Close(); err != nil {
		slog.Warn("stop private postgres", "err", err)
	}
}

// openDatabase finds the server, opens the application database and, when migrate is set,
// applies pending migrations.
func openDatabase(ctx context.Context, c dbConfig, log *slog.Logger, migrate bool) (*database, error) {
	return openDatabaseAfresh(ctx, c, log, migrate, false)
}

// openDatabaseAfresh is openDatabase that, when afresh is set, first drops the database it
// would create (never one named by DATABASE_URL): a new devnet chain must not meet the rows of
// an old one, which the sync would refuse as another chain's.
func openDatabaseAfresh(ctx context.Context, c dbConfig, log *slog.Logger, migrate, afresh bool) (*database, error) {
	srv, err := pgserver.Discover(ctx, pgserver.Config{URL: c.URL, Dir: c.PGDir, Logger: log})
	if err != nil {
		return nil, err
	}
	d := &database{srv: srv}
	if afresh {
		if err := srv.DropDatabase(ctx, c.Name); err != nil {
			d.Close()
			return nil, err
		}
	}
	u, err := srv.DatabaseURL(ctx, c.Name)
	if err != nil {
		d.Close()
		return nil, err
	}
	d.url = u
	if d.DB, err = store.Open(ctx, store.Config{URL: u, Logger: log}); err != nil {
		d.Close()
		return nil, err
	}
	if migrate {
		n, err := migrations.Up(ctx, d.SQL(), log)
		if err != nil {
			d.Close()
			return nil, err
		}
		if n > 0 {
			log.Info("migrations applied", "count", n)
		}
	}
	return d, nil
}

func cliLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }
