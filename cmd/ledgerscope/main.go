// Command ledgerscope is the one binary of LedgerScope: a validator or full node of the
// consortium ledger, the devnet that runs a whole consortium on one machine, and the tools
// that build, sign and send transactions.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "ledgerscope:", err)
		os.Exit(1)
	}
}
