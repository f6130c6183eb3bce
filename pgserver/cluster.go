package pgserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ClusterConfig configures a private cluster.
type ClusterConfig struct {
	// Dir holds the cluster: data/ (the data directory), the socket, and the server log.
	Dir string
	// BinDir holds initdb and pg_ctl; empty searches PATH, then /usr/lib/postgresql/*/bin.
	BinDir string
	// RunAs is the OS user that owns and runs the cluster when this process is root; empty
	// tries "postgres", then "nobody".
	RunAs string
	// Port to listen on, on 127.0.0.1 only; 0 picks a free one.
	Port int
	// StartTimeout bounds initdb and each start.
	StartTimeout time.Duration
	// Logger receives progress; nil discards.
	Logger *slog.Logger
}

// Cluster is a private PostgreSQL cluster run from the machine's binaries, with trust
// authentication for the superuser "postgres" on 127.0.0.1 only.
type Cluster struct {
	cfg     ClusterConfig
	bin     string
	data    string
	port    int
	cred    *syscall.Credential
	running bool
	adopted bool // found already running: left running by Stop
}

// StartCluster initialises the cluster's data directory on first use and starts the server.
// A server already running on that directory (left by a killed process) is adopted.
func StartCluster(ctx context.Context, cfg ClusterConfig) (*Cluster, error) {
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("cluster dir: %w", err)
	}
	cfg.Dir = dir
	bin, err := findBinDir(cfg.BinDir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{cfg: cfg, bin: bin, data: filepath.Join(dir, "data"), port: cfg.Port}
	if os.Geteuid() == 0 {
		if c.cred, err = nonRootUser(cfg.RunAs); err != nil {
			return nil, err
		}
	}
	if err := c.prepareDir(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(c.data, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		cfg.Logger.Info("initialising private postgres cluster", "dir", c.data)
		if out, err := c.run(ctx, "initdb", "-D", c.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"); err != nil {
			return nil, fmt.Errorf("initdb: %w: %s", err, out)
		}
	}
	if port, ok := c.runningPort(); ok {
		c.port, c.running, c.adopted = port, true, true
		cfg.Logger.Info("adopted running private postgres cluster", "dir", c.data, "port", port)
		return c, nil
	}
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Start starts the stopped server, on the same port as before when there was one.
func (c *Cluster) Start(ctx context.Context) error {
	if c.port == 0 {
		p, err := freePort()
		if err != nil {
			return err
		}
		c.port = p
	}
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s", c.port, c.cfg.Dir)
	out, err := c.run(ctx, "pg_ctl", "start", "-D", c.data, "-w", "-t", strconv.Itoa(int(c.cfg.StartTimeout.Seconds())),
		"-l", filepath.Join(c.cfg.Dir, "server.log"), "-o", opts)
	if err != nil {
		return fmt.Errorf("pg_ctl start: %w: %s (see %s)", err, out, filepath.Join(c.cfg.Dir, "server.log"))
	}
	c.running = true
	return nil
}

// Stop shuts the server down (fast mode: sessions are ended, committed data is safe). A cluster
// that was adopted already running is left running.
func (c *Cluster) Stop() error {
	if !c.running || c.adopted {
		return nil
	}
	return c.stop("fast")
}

// Kill stops the server as a crash would (immediate mode: no checkpoint, recovery on the next
// start). Tests use it to show that the sync survives a database crash.
func (c *Cluster) Kill() error { return c.stop("immediate") }

func (c *Cluster) stop(mode string) error {
	out, err := c.run(context.Background(), "pg_ctl", "stop", "-D", c.data, "-m", mode, "-w")
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %w: %s", err, out)
	}
	c.running = false
	return nil
}

// URL connects to database on the cluster as the superuser.
func (c *Cluster) URL(database string) string {
	return URL(net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)), "postgres", database)
}

// Port is the port the server listens on.
func (c *Cluster) Port() int { return c.port }

// DataDir is the cluster's data directory.
func (c *Cluster) DataDir() string { return c.data }

// runningPort reads the port of a live server on the data directory from postmaster.pid.
func (c *Cluster) runningPort() (int, bool) {
	if _, err := c.run(context.Background(), "pg_ctl", "status", "-D", c.data); err != nil {
		return 0, false
	}
	b, err := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return 0, false
	}
	p, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	return p, err == nil
}

// prepareDir creates the cluster directory, owned by the user that runs the server, and checks
// that this user can reach it (every parent must be searchable).
func (c *Cluster) prepareDir() error {
	if err := os.MkdirAll(c.cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("cluster dir: %w", err)
	}
	if c.cred == nil {
		return nil
	}
	if err := os.Chown(c.cfg.Dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
		return fmt.Errorf("cluster dir: %w", err)
	}
	for p := filepath.Dir(c.cfg.Dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("cluster dir: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if ok && st.Uid != c.cred.Uid && fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("cluster dir %s: parent %s is not searchable by uid %d: choose another directory or chmod o+x %s",
				c.cfg.Dir, p, c.cred.Uid, p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// run runs one of the PostgreSQL programs as the cluster's user. Output goes to a file, not a
// pipe: pg_ctl start leaves the server running with the output inherited, and a pipe would
// keep Wait waiting for the server to exit.
func (c *Cluster) run(ctx context.Context, prog string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.StartTimeout+10*time.Second)
	defer cancel()
	out, err := os.CreateTemp("", "pgserver-*.out")
	if err != nil {
		return "", fmt.Errorf("%s: %w", prog, err)
	}
	defer os.Remove(out.Name())
	defer out.Close()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, prog), args...)
	cmd.Dir = c.cfg.Dir
	cmd.Env = []string{"PATH=" + c.bin + ":/usr/bin:/bin", "LC_ALL=C", "TZ=UTC"}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group keeps the server out of a Ctrl-C meant for us: we stop it in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred}
	runErr := cmd.Run()
	b, _ := os.ReadFile(out.Name())
	return strings.TrimSpace(string(bytes.TrimSpace(b))), runErr
}

// findBinDir returns the directory with initdb and pg_ctl: dir if given, else PATH, else the
// newest /usr/lib/postgresql/*/bin.
func findBinDir(dir string) (string, error) {
	has := func(d string) bool {
		for _, p := range []string{"initdb", "pg_ctl"} {
			if fi, err := os.Stat(filepath.Join(d, p)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if dir != "" {
		if has(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("initdb and pg_ctl not found in %s", dir)
	}
	if p, err := exec.LookPath("initdb"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	return "", errors.New("initdb and pg_ctl not found in PATH or /usr/lib/postgresql/*/bin")
}

func versionOf(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

// nonRootUser resolves the user that runs the cluster when we are root.
func nonRootUser(name string) (*syscall.Credential, error) {
	names := []string{"postgres", "nobody"}
	if name != "" {
		names = []string{name}
	}
	for _, n := range names {
		u, err := user.Lookup(n)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
	}
	return nil, fmt.Errorf("running as root and none of the users %v exists to run initdb (it refuses root): create one, or set DATABASE_URL", names)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
