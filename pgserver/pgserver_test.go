package pgserver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPrivateCluster starts a cluster from the machine's binaries on a free port, as a
// non-root user when the test runs as root, connects, restarts it, and stops it.
func TestPrivateCluster(t *testing.T) {
	if _, err := findBinDir(""); err != nil {
		t.Skipf("no PostgreSQL binaries: %v", err)
	}
	// t.TempDir's parent is 0700; the cluster's user must be able to reach its directory.
	base, err := os.MkdirTemp("", "pgserver-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	srv, err := Discover(ctx, Config{LocalAddr: "-", Dir: filepath.Join(base, "pg")})
	if err != nil {
		t.Fatal(err)
	}
	if srv.Source != SourcePrivate {
		t.Fatalf("source %s, want private", srv.Source)
	}
	if err := Ping(ctx, srv.URL, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	cl := srv.cluster
	if err := cl.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := Ping(ctx, srv.URL, 300*time.Millisecond); err == nil {
		t.Fatal("server answers after kill")
	}
	if err := cl.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := Ping(ctx, srv.URL, 10*time.Second); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	// A second start on the same directory adopts the running server rather than failing.
	again, err := StartCluster(ctx, ClusterConfig{Dir: filepath.Join(base, "pg")})
	if err != nil {
		t.Fatal(err)
	}
	if again.Port() != cl.Port() || !again.adopted {
		t.Fatalf("adopted port %d (adopted=%v), want %d", again.Port(), again.adopted, cl.Port())
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := Ping(ctx, srv.URL, 300*time.Millisecond); err == nil {
		t.Fatal("server answers after close")
	}
}

func TestDiscoverOrder(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		cfg     Config
		want    Source
		wantErr error
	}{
		{"bad url fails, no fallback", Config{URL: "postgres://postgres@127.0.0.1:1/x?sslmode=disable", ProbeTimeout: 300 * time.Millisecond}, "", nil},
		{"nothing anywhere", Config{LocalAddr: "127.0.0.1:1", BinDir: t.TempDir(), ProbeTimeout: 300 * time.Millisecond}, "", ErrNoPostgres},
	}
	if Ping(ctx, URL(DefaultLocalAddr, "postgres", "postgres"), time.Second) == nil {
		tests = append(tests, struct {
			name    string
			cfg     Config
			want    Source
			wantErr error
		}{"local server", Config{}, SourceLocal, nil})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := Discover(ctx, tt.cfg)
			if tt.want == "" {
				if err == nil {
					srv.Close()
					t.Fatal("want error")
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			if srv.Source != tt.want {
				t.Fatalf("source %s, want %s", srv.Source, tt.want)
			}
		})
	}
}
