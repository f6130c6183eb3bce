package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/ledgerscope/ledgerscope/appdb"
	"github.com/ledgerscope/ledgerscope/pgserver"
)

// addDBFlags registers the database flags; DATABASE_URL is read from the environment.
func addDBFlags(cmd *cobra.Command, c *appdb.Config) {
	c.URL = os.Getenv("DATABASE_URL")
	cmd.Flags().StringVar(&c.PGDir, "pg-dir", pgserver.DefaultDir, "directory of the private PostgreSQL cluster, used when neither DATABASE_URL nor a server on 127.0.0.1:5432 is there")
	cmd.Flags().StringVar(&c.Name, "db-name", appdb.DefaultName, "database to use on a found or private server (ignored with DATABASE_URL)")
}

// withDatabase opens and migrates the database c names, runs fn on it and closes it: the
// body of every command that reads or changes the database.
func withDatabase(ctx context.Context, c appdb.Config, fn func(*appdb.DB) error) error {
	d, err := appdb.Open(ctx, c, cliLogger(), appdb.Options{Migrate: true})
	if err != nil {
		return err
	}
	defer d.Close()
	return fn(d)
}

// cliLogger logs at info to the standard error.
func cliLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }
