// Package devnettest starts devnets for tests: temporary homes, free local ports below the
// kernel's ephemeral range, a quiet logger and block times short enough for a test.
package devnettest

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/devnet"
	"github.com/ledgerscope/ledgerscope/node"
)

// FreeBasePort finds a devnet base port whose slots (base+10i for P2P, base+1 for RPC) are
// free now. Ports come from 20000-29999: the kernel hands out 32768 and up to outgoing
// connections, which could take a port between the probe and the node's bind.
func FreeBasePort(t testing.TB, slots int) int {
	t.Helper()
	for range 200 {
		base := 20000 + 10*rand.IntN(1000)
		if slotsFree(base, slots) {
			return base
		}
	}
	t.Fatal("no free local ports for a devnet")
	return 0
}

func slotsFree(base, slots int) bool {
	for i := range slots {
		for _, p := range []int{base + 10*i, base + 10*i + 1} {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				return false
			}
			l.Close()
		}
	}
	return true
}

// Logger discards the nodes' logs, or shows their warnings when DEVNET_LOG is set.
func Logger() *slog.Logger {
	if os.Getenv("DEVNET_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Options are devnet options for a test: validators in a temporary home, room for two more
// nodes' ports, invariants checked after every block, and 150 ms between blocks.
func Options(t testing.TB, validators int) devnet.Options {
	t.Helper()
	return devnet.Options{
		Home: t.TempDir(), Validators: validators, Seed: "test", BasePort: FreeBasePort(t, validators+2),
		Logger: Logger(), CheckInvariants: true,
		Tune: func(c *node.Config) {
			c.TimeoutCommit = 150 * time.Millisecond
			c.CreateEmptyBlocksInterval = 0
		},
	}
}
