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

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "ledgerscope:", err)
		os.Exit(1)
	}
}
