// Package node embeds a CometBFT v1 node in the process, next to the ledger's ABCI
// application, as a validator or as a non-validating full node.
//
// A full node verifies every commit against the validator set and re-executes every
// transaction through the application, so a node whose application disagrees with the
// chain halts with ErrAppHashMismatch instead of following it. The rest of the program
// reads committed blocks and their execution results through BlockSource, which the
// embedded Node implements directly from its stores and RPCSource implements over a
// remote node's RPC, with the same semantics.
package node
