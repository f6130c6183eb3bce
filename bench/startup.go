package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Startup starts the binary as a newcomer would (`ledgerscope devnet`), times how long until
// its RPC reports the first committed block, and reads its resident memory once it has run
// for a while idle.
func Startup(ctx context.Context, home string, basePort int) ([]Row, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, exe, "devnet", "--home", home, "--base-port", strconv.Itoa(basePort), "--report-every", "1h")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", exe, err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
	}()
	url := fmt.Sprintf("http://127.0.0.1:%d/status", basePort+1)
	var first time.Duration
	for first == 0 {
		if time.Since(start) > time.Minute {
			return nil, fmt.Errorf("no block from %s within a minute", url)
		}
		time.Sleep(20 * time.Millisecond)
		if h, err := rpcHeight(url); err == nil && h >= 1 {
			first = time.Since(start)
		}
	}
	time.Sleep(10 * time.Second)
	rss, err := residentKiB(cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	return []Row{
		{Name: "start-up to first block, 4 validators", Value: first.Seconds(), Unit: "s", Note: "fresh home, `ledgerscope devnet`"},
		{Name: "resident memory, idle 4-validator devnet", Value: float64(rss) / 1024, Unit: "MiB", Note: "VmRSS after 10 s"},
	}, nil
}

func rpcHeight(url string) (int64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var st struct {
		Result struct {
			SyncInfo struct {
				LatestBlockHeight string `json:"latest_block_height"`
			} `json:"sync_info"`
		} `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return 0, err
	}
	return strconv.ParseInt(st.Result.SyncInfo.LatestBlockHeight, 10, 64)
}

// residentKiB reads a process's resident set from /proc.
func residentKiB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}
