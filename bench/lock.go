package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// lockDir takes the lock of a scratch directory, a file beside it (the directory itself is
// removed and made again), and returns its release. A second bench in the same directory
// once emptied the first one's chains under it and then stalled on its ports for 17
// minutes; now it is refused at once. The kernel drops the lock of a killed process.
func lockDir(dir string) (func(), error) {
	path := strings.TrimRight(dir, "/") + ".lock"
	// In a fresh clone var/ is not there yet.
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("bench: lock %s: %w", dir, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("bench: lock %s: %w", dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("bench: another bench (pid %s) is running in %s: wait for it, or give this one a --dir and --base-port of its own",
				strings.TrimSpace(string(holder)), dir)
		}
		return nil, fmt.Errorf("bench: lock %s: %w", dir, err)
	}
	// The pid is for the message above. The file stays when released: removing it would
	// let one bench lock the removed file while another locks a new one.
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: lock %s: %w", dir, err)
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: lock %s: %w", dir, err)
	}
	// Closing the file releases the lock.
	return func() { f.Close() }, nil
}
