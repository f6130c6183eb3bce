package node

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// CometBFT v1.0.1 has crash points (internal/fail): the process exits with status 1 at
// the FAIL_TEST_INDEX-th call, counted from 0 across the whole process. A lone validator
// passes failPointsPerHeight of them per height, in this order:
//
//	0 after its prevote is in the WAL         5 after FinalizeBlock, before its response is saved
//	1 after its precommit is in the WAL       6 after the response is saved, before the app's Commit
//	2 before the block is saved               7 after the app's Commit, before the state is saved
//	3 after the block is saved                8 after the state is saved
//	4 after the WAL's end-of-height marker    9 after the block is applied; 10 after consensus moves on
//
// A node syncing blocks passes only 5 to 8, and a restart's handshake replay passes 5 to
// 8 again for each block it replays.
const failPointsPerHeight = 11

// crashHeight is the height at which TestRestartAfterCrash kills the validator.
const crashHeight = 3

// TestCrashChild is the child process of TestRestartAfterCrash: it runs the lone
// validator of LEDGERSCOPE_CRASH_HOME until a crash point ends the process.
func TestCrashChild(t *testing.T) {
	home := os.Getenv("LEDGERSCOPE_CRASH_HOME")
	if home == "" {
		t.Skip("runs only as the child process of TestRestartAfterCrash")
	}
	port, err := strconv.Atoi(os.Getenv("LEDGERSCOPE_CRASH_PORT"))
	if err != nil {
		t.Fatal(err)
	}
	m := &member{cfg: testConfig(home, "solo", port)}
	m.cfg.Validator = true
	m.start(t)
	for _, tx := range []string{"a=1", "b=2", "c=3"} {
		if _, err := m.node.SubmitTx([]byte(tx)); err != nil {
			t.Fatal(err)
		}
	}
	block(t, m.node, crashHeight+5, 60*time.Second)
	t.Fatal("no crash point was reached")
}

// TestRestartAfterCrash kills a validator at CometBFT's crash points around storing a
// block, the application's Commit and storing the state, then restarts it from the same
// home: the handshake brings store, state and application back in line and the chain
// continues with the same app hashes.
func TestRestartAfterCrash(t *testing.T) {
	for _, tc := range []struct {
		name      string
		point     int
		appHeight int64 // the application's committed height after the crash
	}{
		{"after the block store", 3, crashHeight - 1},
		{"after the app's commit, before the state store", 7, crashHeight},
		{"after the state store", 8, crashHeight},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newSingle(t)
			index := failPointsPerHeight*(crashHeight-1) + tc.point
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
			cmd.Env = append(os.Environ(),
				fmt.Sprintf("FAIL_TEST_INDEX=%d", index),
				"LEDGERSCOPE_CRASH_HOME="+m.cfg.Home,
				"LEDGERSCOPE_CRASH_PORT="+strings.TrimPrefix(m.cfg.P2PListen, "tcp://127.0.0.1:"),
			)
			out, _ := cmd.CombinedOutput()
			if !strings.Contains(string(out), fmt.Sprintf("*** fail-test %d ***", index)) {
				t.Fatalf("child did not stop at crash point %d:\n%s", index, out)
			}
			crashed, err := newKVApp(m.statePath())
			if err != nil {
				t.Fatal(err)
			}
			if crashed.height() != tc.appHeight {
				t.Fatalf("after the crash the app is at height %d, want %d", crashed.height(), tc.appHeight)
			}

			m.start(t)
			// The node checks every next header's AppHash against its application's, so
			// reaching two heights past the crash without halting is agreement.
			for h := int64(1); h <= crashHeight+2; h++ {
				b := block(t, m.node, h, 30*time.Second)
				if h > tc.appHeight && !bytes.Equal(b.AppHash, m.app.hashAt(h)) {
					t.Fatalf("height %d: stored app hash %X, the restarted app returned %X", h, b.AppHash, m.app.hashAt(h))
				}
			}
			if err := m.node.Err(); err != nil {
				t.Fatal(err)
			}
			st, err := m.node.Status(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := m.app.value("c"); got != "3" || st.LatestHeight < crashHeight+2 {
				t.Fatalf("after restart: c=%q, height %d", got, st.LatestHeight)
			}
		})
	}
}
