package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/ledgerscope/ledgerscope/migrations"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestMigrateAndHoldingsCommands runs the commands as a user would, against a fresh database.
func TestMigrateAndHoldingsCommands(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.URL(t))
	run := func(args ...string) (string, error) {
		var cmd = newMigrateCmd()
		if args[0] == "holdings" {
			cmd = newHoldingsCmd()
		}
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(args[1:])
		err := cmd.ExecuteContext(context.Background())
		return out.String(), err
	}
	tests := []struct {
		args    []string
		want    string
		wantErr string
	}{
		{[]string{"migrate", "status"}, "pending", ""},
		{[]string{"migrate", "up"}, fmt.Sprintf("applied %d migrations", migrationCount(t)), ""},
		{[]string{"migrate", "status"}, "applied", ""},
		{[]string{"migrate", "down"}, "", ""},
		{[]string{"migrate", "sideways"}, "", "unknown migrate action"},
		{[]string{"holdings"}, "", "give --account or --asset"},
		{[]string{"holdings", "--asset", "CNYS"}, "", "sync cursor: not found"},
		{[]string{"holdings", "--account", "zz"}, "", "neither an address nor a key name"},
	}
	for _, tt := range tests {
		out, err := run(tt.args...)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: err %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !strings.Contains(out, tt.want) {
			t.Errorf("%v: %q %v, want %q", tt.args, out, err, tt.want)
		}
	}
}

// migrationCount counts the embedded up/down files, so the test follows new migrations.
func migrationCount(t *testing.T) int {
	t.Helper()
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	return len(files)
}
