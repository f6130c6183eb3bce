// Command ledgerscope is the one binary of LedgerScope: a validator or full node of the
// consortium ledger, the devnet that runs a whole consortium on one machine, and the tools
// that build, sign and send transactions.
package main

import (
	"fmt"
	"os"
	"runtime/debug"
)

// defaultGCPercent trades memory for CPU: a node allocates per transaction, and at Go's
// default of 100 the collector took about a tenth of a full node's CPU while it caught up.
// GOGC in the environment still decides when set.
const defaultGCPercent = 300

// defaultMemoryShare is the share of the machine's RAM the Go heap is held under, softly, when
// GOMEMLIMIT is not set. At GOGC=300 the heap may reach four times what is live, and on a
// starved machine a collection runs long while the nodes keep allocating: a soak at 2,000 tx/s
// with the machine's two cores shared had 8 GiB resident for 2 GiB live. Near the limit the
// collector runs more often instead.
const defaultMemoryShare = 2 // 1/2

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if ram := physicalMemory(); os.Getenv("GOMEMLIMIT") == "" && ram > 0 {
		debug.SetMemoryLimit(int64(ram / defaultMemoryShare))
	}
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "ledgerscope:", err)
		os.Exit(1)
	}
}
