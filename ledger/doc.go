// Package ledger is the consortium ledger's state machine: its transaction types and their
// canonical binary encoding, the ABCI application that executes them, the state it keeps and
// the typed events it emits. It knows nothing of PostgreSQL or HTTP; the node that runs it
// lives in package node, the devnet and the load generator beside it.
//
// Everything reachable from FinalizeBlock and Commit is deterministic: block time only, no
// floats, and map iteration only where the outcome does not depend on order (the state
// digest is a commutative sum; a storage batch is a set of distinct keys).
package ledger
