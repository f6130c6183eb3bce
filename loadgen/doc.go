// Package loadgen generates realistic, signed consortium traffic for the ledger, with labelled
// violation scenarios, and submits it to a node at a steady rate.
//
// A Generator is deterministic from its Config (the demo key seed, its own seed and the times
// its Clock reads). Its stream starts with a setup phase: it registers a population of
// clients at the two brokers and the exchanges, individuals and institutions, each with its
// own owner_ref, plus a handful of beneficial owners with accounts at several members for the
// cross-account scenarios; it issues six A-share-like stocks listed at the four venues, a
// bond, an ETF, a futures contract with a position limit (TJCE), three kinds of warehouse
// receipts (CMWH) and two loyalty points, and distributes them; the settlement bank BOCS
// attests its reserve and mints coin to most clients. Then comes steady traffic: DvP trades
// at venues in session (mostly signed by the venue on standing authorisation, some by both
// parties), gateway settlements through UPGW (lock, then confirm), transfers of points,
// receipts, securities and coin, reward and receipt issuance, coin deposits (attestation
// first, then mint), redemptions (client to the bank's operator, later burned), new clients,
// and now and then a regulator's freeze and unfreeze. The generator models nonces, balances,
// locks and supplies, so the transactions succeed when executed in the order generated, or in
// any order that keeps each signer's nonces and puts every transaction after its
// prerequisites (Tx.Prerequisites): the transactions of other signers whose effects it needs.
//
// # Violation scenarios and the ground truth
//
// With Config.Violations above zero, scenarios start at that share of transactions, in
// round-robin order over Scenarios(). Each labels the transactions its rule must flag; Run
// writes the labels of admitted transactions as JSON lines (see Label). The scenarios:
//
//   - LV-INST, LV-IND: a fresh payer, funded by an attested mint of more than twice the
//     amount, pays 1.05-1.10 times the threshold (CNY 2,000,000 or 500,000, in fen) to a fresh
//     payee of the same kind. One line per account, on the payment.
//   - STRUCT: an individual owner with two accounts makes four coin payments, each in
//     [0.91·T, 0.99·T) of CNY 500,000, to four unrelated fresh accounts within seconds. One line
//     per payment, subject the owner_ref. Funding the accounts (an attested mint of 4·T each)
//     necessarily makes each account an LV-IND subject too, labelled on its second payment.
//   - HOLD-5: a multi-account owner buys a stock from clean holders through gateway
//     settlements until its accounts together hold 5.1-5.6% of the supply, no account alone
//     above 2.9%. One line on the confirmation that crosses 5%, subject the owner_ref.
//   - HOLD-1: a multi-account owner buys a stock through gateway settlements to at least a lot
//     below 5%, then in one settlement to 5% and up to four lots beyond (labelled HOLD-5), then,
//     each lock waiting for that confirmation to be in a block, 1.1-1.3% of the supply more. One
//     HOLD-1 line on the confirmation that takes it 1% of the supply beyond its holding at the
//     crossing, subject the owner_ref. That holding is HOLD-1's base because no other purchase
//     of the owner shares its block; the owner ends less than 2% beyond it and below 10%.
//   - POS-LIM: the same with the futures contract, to just above its position limit of 500
//     lots (under 4% of its supply, so not also HOLD-5).
//   - SELF: a multi-account owner buys a stock into one account and moves half of it to its
//     other account by a venue DvP (alternately by a transfer). One line, subject the owner.
//   - MATCHED: one account of an owner buys a stock from a client while its other account
//     sells the same quantity, within 0.4% of the price, to another client, in the same
//     instant. Two lines, subject the owner.
//   - FROZEN: the regulator freezes a fresh account; it then tries a transfer and a
//     settlement (signer_frozen) and a client tries to pay it (account_frozen). The attempts
//     are in blocks, failed; one line each, subject the frozen account.
//   - WATCH: a broker opens an account for a party on the watch list (Watchlist; by owner_ref
//     and by address, alternately) and a client pays it a little coin, or UPGW credits it
//     points. One line on the registration and one on the credit, subject the account. The
//     rules see it only with the watch list uploaded (WriteWatchlist writes it as the CSV a
//     watch-list upload reads) before they evaluate the blocks.
//   - SETTLE-FAIL: a gateway settlement between clients that UPGW fails, or (alternately) one
//     left to expire three minutes on. One line per settlement, on its lock: tx is the lock
//     (the settlement id), subject the seller.
//   - RESERVE: BOCS restates its reserve at exactly the supply, then mints without attesting,
//     and restores coverage seconds later. One line on the mint, subject CNYS.
//   - RAPID: a fresh account receives a client's payment and sends 92-99% of it on to another
//     fresh account seconds later. One line on the onward payment, subject the account.
//   - SESSION: a DvP between two clients, made within the clean budgets as clean traffic's
//     are, at a venue closed for two minutes either side of now (a commodity exchange's break,
//     lunch, the night). A turn that finds every venue open is taken at the next closure. One
//     line on the DvP, subject the venue; the clients stay clean.
//
// # What clean traffic assumes of the rules
//
// Clean traffic (and every scenario, outside its own rule) stays clear of issue 4's rules at
// their default parameters under the strictest reading the wording allows:
//
//   - LV-*: each account's coin debits plus credits, mints and burns included, over today
//     and yesterday (Shanghai calendar days) stay within 40% of its kind's threshold: so no
//     calendar day in any zone, nor any rolling 24 hours, comes near it. The bank's own
//     account, which receives redemptions and burns them, is held to the same budget.
//   - STRUCT: no clean coin transfer, DvP cash leg or burn exceeds CNY 200,000, and no mint
//     CNY 400,000: all below 0.9 of either threshold, even were mints read as transfers.
//
// A scenario's label is attached to a transaction that makes the violation certain once it
// is in a block, and a scenario's funding goes out with the transactions that use it, so a
// run cut short leaves no violation unlabelled. Killed without its drain, though, a run may
// leave clean gateway settlements to expire: an unlabelled SETTLE-FAIL.
//   - HOLD-5, HOLD-1, POS-LIM: each clean account has an owner of its own, and holds at most
//     2.5% of any security's supply and 40% of the futures position limit. Securities are
//     never minted after their initial distribution, so shares move only when holdings do.
//     The distribution of a security is one Tx.Group: at block granularity no holder is ever
//     above 5% of a partial supply. HOLD rules are assumed to read holdings at block ends.
//   - SELF, MATCHED: clean parties never share an owner; an account never moves an asset in
//     one direction and then the other within 60 seconds. MATCHED is assumed to pair two
//     distinct trades (DvPs or gateway settlements), the buyer of one sharing an owner with the
//     seller of the other; a single trade between two accounts of one owner is SELF.
//   - FROZEN: a clean freeze hits an account idle for a minute with nothing open, and nothing
//     touches it until the unfreeze. The regulator's Freeze and Unfreeze are assumed not to
//     be activity by or to the account.
//   - RESERVE, ATTEST-AGE: every clean mint is preceded by an attestation raising the
//     reserve by the amount minted; the reserve is restated at least daily.
//   - RAPID: within two hours an account either pays or receives coin; after a credit its
//     debits stay under 50% of that credit for two hours, and the debits before a credit
//     stay under 30% of it, so neither a per-receipt reading (debits within an hour of a
//     receipt) nor a sliding-window one (out ≥ 90% of in over any hour) can trip. Mints count
//     as receipts and burns as payments.
//   - SETTLE-FAIL: clean settlements have a two-hour deadline and are confirmed within
//     seconds; Generator.Drain confirms those still open when a run ends.
//   - SESSION: DvP trades happen only while the venue is in session for two more minutes,
//     per Config.Session (ExchangeSessions by default); the rule's venue parameters must
//     match. Gateway settlements are off-exchange and happen at any hour.
//   - WATCH: no clean account, and no account of a clean owner, is on Watchlist.
//   - DVP-ATOM: the ledger makes DvP atomic.
//
// Under load the coin budgets run out first; the mix then shifts to asset traffic and new
// clients are onboarded (up to Config.MaxAccounts), rather than any budget being stretched.
//
// # Submission
//
// A Submitter hands transactions to a node: RPC over CometBFT's JSON-RPC in batches, or
// CheckTxFunc around an in-process node's SubmitTx. Run paces a Generator's stream through
// one and drains what is under way when it ends. For an in-process node:
//
//	gen, err := loadgen.New(loadgen.Config{ChainID: id, DemoSeed: "devnet", Seed: 1, Clock: loadgen.WallClock{}})
//	err = gen.SyncSigners(ctx, loadgen.AppQuerier{App: app}) // or gen.Restore on a set-up chain
//	stats, err := loadgen.Run(ctx, loadgen.RunConfig{Rate: 2000, Querier: loadgen.AppQuerier{App: app}},
//		gen, loadgen.CheckTxFunc(node.SubmitTx), truthFile)
//
// When the node refuses a transaction, its nonce was not used: Run reads the signer's nonce
// back (the refusal's "expects N", and the ledger's /account query) and the generator sends
// the transaction again with the right nonce; a refused registration retires its account
// instead. This recovers from a transaction lost from the mempool (the next ones leave a gap)
// and from a run starting with stale nonces (use SyncSigners or Restore to avoid those).
// Another process signing with one of the generator's keys at the same time is beyond it:
// the ledger's CheckTx admits a nonce that is pending but not committed a second time (so
// that clients may resubmit), so the collision shows only in the block, where one of the two
// fails with bad_nonce, and Run, which sees CheckTx only, cannot send it again.
//
// # Causal order across signers
//
// A signer's transactions execute in nonce order, but a chain of several validators does not
// keep the order of different signers: their transactions reach the block proposer by
// different gossip paths, so a mint may come before the recipient's registration, a
// confirmation before its lock, a payment before its funding. So every Tx carries its
// prerequisites, the (signer, nonce) of the transactions of other signers it needs (deps.go
// lists what they are), and Run submits a transaction only once they are in a block, which
// it reads from the signers' committed nonces through its Querier. It holds back the
// transaction, and every later one of its signer to keep the nonces in order, while
// independent traffic goes on at the target rate; it looks at the ledger at most every 100ms,
// only for the signers waited on, and sends a held transaction anyway after RunConfig.MaxHold.
// Stats and the progress log say how many transactions waited and how long. Without a
// Querier (CheckTxFunc alone) nothing is held back: pass AppQuerier in RunConfig.Querier.
//
// Run also mends the nonce gaps CometBFT's mempool leaves: when two peers gossip a signer's
// nonces n and n+1 at once, a node may put n+1 first, and a proposer's block then fails it
// with bad_nonce, and every later transaction of the signer with it. Run keeps what the node
// admitted until it sees it in a block, and sends a signer's transactions again from the
// first missing nonce when its committed nonce stays behind them for a few seconds.
package loadgen
