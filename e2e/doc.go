// Package e2e holds end-to-end tests that run the pieces together as they run in production:
// a devnet of real CometBFT validators, a full node that re-executes their blocks, ledgersync
// writing the full node's blocks into PostgreSQL, and reconciliation of the result against the
// ledger. It has no code of its own.
package e2e
