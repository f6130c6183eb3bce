// Package compliance holds LedgerScope's supervisory rules: each rule is code plus typed
// parameters, its parameters are versioned in PostgreSQL (a change is a new version, with who
// made it and why), and a Runner evaluates the enabled rules over every block that ledgersync
// has written, right behind the sync cursor.
//
// Rules read nothing but the relational store, and every window they look at (a day's coin
// movements, a structuring window, an owner's holdings at a block end) is recomputed from it
// for the blocks being evaluated. Their results therefore do not depend on how blocks are
// batched, on restarts, or on replays: the Runner writes the violations of a range of blocks
// and moves its own cursor in one database transaction, and a violation is unique per rule,
// subject and window, so a replay adds nothing. Backtest runs one rule version over a range
// of history through the same code without writing, and reports what would be added and
// removed against the live violations.
//
// The rules, their parameters and defaults and their legal sources are in docs/rules.md.
// Here, registry.go lists every rule with its source and defaults, and rule_<id>.go holds one
// rule's parameters and evaluation (rule_lv.go both large-value rules). What several rules
// load once per pass through the Env (env.go) has a file of its own: accounts.go,
// coinmoves.go, holdings.go, trades.go; state.go keeps the rules' window state.
package compliance
