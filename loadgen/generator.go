package loadgen

import (
	"container/heap"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// Tx is one generated transaction, signed, with what the generator expects of it.
type Tx struct {
	Raw    []byte
	Hash   ledger.Hash
	Type   ledger.TxType
	Signer ledger.Address
	Nonce  uint64
	// Seq numbers the generator's transactions from 1, in stream order.
	Seq uint64
	// Group is non-zero for consecutive transactions that belong in one block: a security's
	// issue and initial distribution, so that no holder is ever seen above 5% of a partial
	// supply at a block boundary.
	Group uint32
	// Expect is the result code the generator expects when the transaction executes.
	Expect ledger.Code
	// Labels are the ground-truth lines this transaction carries; they become true once it
	// is in a block.
	Labels []Label

	utx  *ledger.Tx
	keys []ed25519.PrivateKey
	// What a resubmission needs, should the node refuse the transaction.
	body     ledger.Body
	signers  []*account
	attempts int
	// next is the resubmission that replaced this transaction, guarded by Generator.mu.
	next *Tx
	// registers is the account a RegisterAccount opens.
	registers *account
	// ref stands for this transaction, and for its resubmission, in the prerequisites of
	// later transactions; needs are this one's prerequisites (deps.go).
	ref   *txRef
	needs []*txRef
}

// latest follows resubmissions to the transaction that stands for this one now.
func (tx *Tx) latest() *Tx {
	for tx.next != nil {
		tx = tx.next
	}
	return tx
}

func (tx *Tx) sign() {
	if tx.Raw != nil {
		return
	}
	tx.Raw = tx.utx.Sign(tx.keys...)
	tx.Hash = ledger.TxHash(tx.Raw)
	tx.utx, tx.keys = nil, nil
}

// signAll signs whatever is not signed yet, on every core: Ed25519 signing dominates the
// cost of generation.
func signAll(txs []*Tx) {
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || len(txs) < 64 {
		for _, tx := range txs {
			tx.sign()
		}
		return
	}
	chunk := (len(txs) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(txs); lo += chunk {
		part := txs[lo:min(lo+chunk, len(txs))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, tx := range part {
				tx.sign()
			}
		}()
	}
	wg.Wait()
}

// owner is a beneficial owner with several accounts, for the cross-account scenarios.
type owner struct {
	ref   ledger.Hash
	kind  ledger.AccountKind
	accts []*account
}

// Generator produces signed consortium traffic: a setup phase, then an endless stream of clean
// transactions with violation scenarios injected at the configured rate. It keeps a model of
// every account's nonce and holdings so that the transactions succeed when executed in the
// order generated. It is safe for concurrent use, but its stream is one sequence.
type Generator struct {
	mu  sync.Mutex
	cfg Config
	rng *rand.Rand
	now int64 // clock reading for the transactions being generated

	accounts  []*account
	byAddr    map[ledger.Address]*account
	members   map[string]*account
	regulator *account
	clean     []*account
	reserved  []*owner
	assets    []*assetState
	bySymbol  map[string]*assetState
	holders   [][]*account
	tradable  []*assetState // listed at a venue: securities and warehouse receipts
	coin      *assetState

	reserve    uint64 // last attested reserve
	lastAttest int64
	attests    uint64

	setup    []func()
	sched    stepQueue
	stepSeq  uint64
	draining bool
	discard  bool // Restore: apply the setup to the model without emitting it

	seq    uint64
	group  uint32
	groups uint32
	out    []*Tx

	clients     int // accounts onboarded after setup
	scnAccounts int
	scnActive   int
	scnNext     int
	scnStarted  map[string]int
	assetUses   map[*assetState]int
	frozenClean int
	trades      uint64
	// watchUsed counts the watch-list slots the WATCH scenario has opened accounts for.
	watchUsed int
	// sessionOwed is set when SESSION's turn came while every venue was in session: it
	// starts first at the next venue closure instead of waiting a whole round for its turn.
	sessionOwed bool
	// bankCollectUntil ends the bank's current hour of taking redemptions; zero before the
	// first redemption after a full burn.
	bankCollectUntil int64
	restored         bool
}

// Errors of the generator.
var (
	// ErrNoSetup means Restore found no set-up population on the chain.
	ErrNoSetup = errors.New("the chain has no loadgen setup for this demo seed: run with setup first")
	// ErrSeedUsed means Restore found accounts that this seed would open already on the chain.
	ErrSeedUsed = errors.New("this seed already generated traffic on the chain: choose another seed")
)

// New returns a generator whose stream starts with the setup phase.
func New(cfg Config) (*Generator, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &Generator{
		cfg:        c,
		rng:        rand.New(rand.NewPCG(c.Seed, c.Seed^0x6c6f616467656e21)),
		byAddr:     map[ledger.Address]*account{},
		members:    map[string]*account{},
		bySymbol:   map[string]*assetState{},
		scnStarted: map[string]int{},
		assetUses:  map[*assetState]int{},
	}
	g.now = c.Clock.Now().Unix()
	g.coin = &assetState{idx: 0, symbol: ledger.CoinSymbol}
	g.assets = append(g.assets, g.coin)
	for _, spec := range catalog() {
		as := &assetState{idx: len(g.assets), symbol: spec.body.Symbol, spec: spec}
		g.assets = append(g.assets, as)
		if spec.body.Venue != "" {
			g.tradable = append(g.tradable, as)
		}
	}
	for _, as := range g.assets {
		g.bySymbol[as.symbol] = as
	}
	g.holders = make([][]*account, len(g.assets))
	g.regulator = g.newAccount("regulator", ledger.KindInstitution, "", nil, ledger.Hash{}, roleRegulator)
	for _, m := range ledger.DemoMembers {
		a := g.newAccount("member/"+m.ID, ledger.KindInstitution, m.ID, nil, ledger.MemberOwnerRef(m.ID), roleMember)
		a.member = m.ID
		a.coin.maxEvents = maxBankCoinEvents
		g.members[m.ID] = a
	}
	g.planSetup()
	return g, nil
}

// ChainID is the chain the generator signs for.
func (g *Generator) ChainID() string { return g.cfg.ChainID }

// Next generates about n transactions (more when a step emits several at once, fewer while
// draining), signed on every core, in the order they must execute.
func (g *Generator) Next(n int) []*Tx {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.now = g.cfg.Clock.Now().Unix()
	g.out = make([]*Tx, 0, n+8)
	for len(g.out) < n && g.step() {
	}
	out := g.out
	g.out = nil
	signAll(out)
	return out
}

// step runs one unit of work; false means there is nothing to do now.
func (g *Generator) step() bool {
	if len(g.setup) > 0 {
		f := g.setup[0]
		g.setup = g.setup[1:]
		f()
		return true
	}
	if g.sched.Len() > 0 && g.sched.key(g.sched.items[0]) <= g.now {
		s := heap.Pop(&g.sched).(*step)
		s.fn()
		return true
	}
	if g.draining {
		return false
	}
	g.steady()
	return true
}

// Drain stops new traffic: from now on Next emits only the pending steps of what is under way
// (confirmations of open settlements, unfreezes, the rest of started scenarios), each as soon
// as it safely may, so that a run can end without leaving settlements to expire.
func (g *Generator) Drain() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.draining = true
	g.sched.draining = true
	heap.Init(&g.sched)
	// A setup cut short stays so: a later run finds it incomplete (ErrNoSetup).
	g.setup = nil
}

// Resume restarts new traffic after a Drain.
func (g *Generator) Resume() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.draining = false
	g.sched.draining = false
	heap.Init(&g.sched)
}

// Pending counts the steps that will still emit transactions.
func (g *Generator) Pending() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := len(g.setup)
	for _, s := range g.sched.items {
		if s.tx {
			n++
		}
	}
	return n
}

// Started counts the scenarios started so far, by id.
func (g *Generator) Started() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]int, len(g.scnStarted))
	for k, v := range g.scnStarted {
		out[k] = v
	}
	return out
}

// NeedsResync reports whether a rejection of the transaction numbered seq, signed by addr, is
// news: false when the account's nonce was resynchronised after the transaction was generated.
func (g *Generator) NeedsResync(addr ledger.Address, seq uint64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.byAddr[addr]
	return a != nil && seq >= a.resyncSeq
}

// superseded reports, for each transaction, whether its signer's nonce was resynchronised
// back past it after it was generated (ResyncNonce): its nonce is being used again, so it
// must not be sent.
func (g *Generator) superseded(txs []*Tx) []bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]bool, len(txs))
	for i, tx := range txs {
		if a := g.byAddr[tx.Signer]; a != nil && tx.Seq < a.resyncSeq {
			out[i] = true
		}
	}
	return out
}

// ResyncNonce corrects an account's next nonce after the node refused its transaction with
// nonce rejected, expecting nonce expected instead, and reports whether it changed anything.
// When the node expects more (someone else signed with the key), the generator skips ahead
// only if it is behind. When it expects less (a transaction of the generator's was lost), the
// generator goes back to it; the transactions it generated before then will be refused too,
// and their refusals are stale news.
func (g *Generator) ResyncNonce(addr ledger.Address, expected, rejected, seq uint64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.byAddr[addr]
	if a == nil || expected == 0 || seq < a.resyncSeq {
		return false
	}
	if expected > rejected {
		if a.nonce+1 >= expected {
			return false
		}
		a.nonce = expected - 1
		return true
	}
	a.nonce = expected - 1
	a.resyncSeq = g.seq + 1
	return true
}

// Rejected tells the generator that the node refused tx, so it never executes. An account
// whose registration was refused does not exist: the generator stops using it. Any other
// transaction, which the model already counts as done, is sent again a second later (up to
// maxAttempts times), with the nonce ResyncNonce settled on and its labels carried over.
func (g *Generator) Rejected(tx *Tx) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if tx.next != nil {
		return // its resubmission stands for it now
	}
	if a := tx.registers; a != nil {
		a.role = roleDead
		tx.ref.set(refNever)
		return
	}
	if tx.attempts >= maxAttempts {
		tx.ref.set(refNever)
		return
	}
	// The transactions that need this one wait for its resubmission, whose nonce is not
	// known yet.
	tx.ref.set(refAwaiting)
	// The model already counts it done: send it again, once the nonce is resynchronised.
	g.after(1, 1, func() {
		for _, s := range tx.signers {
			// A frozen signer's attempt would be news to the FROZEN rule: let it go.
			if s.role == roleDead || (s.frozen && tx.Expect == ledger.CodeOK) {
				tx.ref.set(refNever)
				return
			}
		}
		n := g.emitAs(tx.ref, tx.body, tx.signers...)
		n.attempts, n.Expect = tx.attempts+1, tx.Expect
		for _, r := range tx.needs {
			g.need(n, r)
		}
		tx.next = n
		if len(tx.Labels) > 0 {
			n.sign()
			for _, l := range tx.Labels {
				if l.Tx == tx.Hash.String() {
					l.Tx = n.Hash.String()
				}
				n.Labels = append(n.Labels, l)
			}
		}
	})
}

// maxAttempts bounds the submissions of one transaction the node keeps refusing.
const maxAttempts = 3

// SyncSigners reads the nonces of the members' operators and of the regulator back from the
// ledger, for a stream starting on a chain where they may have signed already.
func (g *Generator) SyncSigners(ctx context.Context, q Querier) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, a := range g.accounts {
		if a.role != roleMember && a.role != roleRegulator {
			continue
		}
		v, err := queryJSON[accountView](ctx, q, "/account/"+a.addr.String())
		if err != nil {
			return fmt.Errorf("sync signers: %w", err)
		}
		a.nonce = v.Nonce
	}
	return nil
}

// Pregenerate returns n signed transactions of the stream from where it stands, setup first
// when it has not run, signed on every core. With a SimClock the clock advances one second
// every 500 transactions: execute them in order in blocks whose times start at the clock's
// time and run no later than one second per 500 transactions (PregenerateBlocks returns
// exactly those blocks). Earlier block times are safe; much later ones are not, since
// settlement deadlines count from the generation time.
func (g *Generator) Pregenerate(n int) [][]byte {
	if _, ok := g.cfg.Clock.(*SimClock); ok {
		blocks, err := g.PregenerateBlocks(n, 500, time.Second)
		if err == nil {
			out := make([][]byte, 0, n)
			for _, b := range blocks {
				out = append(out, b.Txs...)
			}
			return out[:min(n, len(out))]
		}
	}
	out := make([][]byte, 0, n)
	for len(out) < n {
		for _, tx := range g.Next(min(n-len(out), 2048)) {
			out = append(out, tx.Raw)
		}
	}
	return out[:n]
}

// SetupTxs returns what remains of the setup phase, signed, in order, for a caller that
// commits the setup before it measures the load; Next and Pregenerate then continue with the
// steady traffic.
func (g *Generator) SetupTxs() [][]byte {
	g.mu.Lock()
	g.now = g.cfg.Clock.Now().Unix()
	g.out = nil
	for len(g.setup) > 0 {
		g.step()
	}
	txs := g.out
	g.out = nil
	g.mu.Unlock()
	signAll(txs)
	out := make([][]byte, len(txs))
	for i, tx := range txs {
		out[i] = tx.Raw
	}
	return out
}

// Block is a block's worth of generated transactions and the time to give the block.
type Block struct {
	Time time.Time
	Txs  [][]byte
}

// PregenerateBlocks returns blocks holding at least n transactions in all, about perBlock
// each (a set-up group is never split), generated at the block's time, which starts at the
// SimClock's time and advances by step from block to block.
func (g *Generator) PregenerateBlocks(n, perBlock int, step time.Duration) ([]Block, error) {
	sc, ok := g.cfg.Clock.(*SimClock)
	if !ok {
		return nil, errors.New("pregenerate blocks: the generator's clock is not a SimClock")
	}
	if perBlock <= 0 || step <= 0 {
		return nil, fmt.Errorf("pregenerate blocks: %d per block every %v", perBlock, step)
	}
	var blocks []Block
	for total := 0; total < n; {
		txs := g.Next(perBlock)
		b := Block{Time: sc.Now(), Txs: make([][]byte, len(txs))}
		for i, tx := range txs {
			b.Txs[i] = tx.Raw
		}
		blocks = append(blocks, b)
		total += len(txs)
		sc.Advance(step)
	}
	return blocks, nil
}

// emit appends a transaction signed by signers, the first paying the nonce.
func (g *Generator) emit(body ledger.Body, signers ...*account) *Tx {
	return g.emitAs(nil, body, signers...)
}

// emitAs is emit for a transaction that ref stands for already (a resubmission), or a new
// one when ref is nil.
func (g *Generator) emitAs(ref *txRef, body ledger.Body, signers ...*account) *Tx {
	s := signers[0]
	s.nonce++
	g.seq++
	keys := make([]ed25519.PrivateKey, len(signers))
	for i, a := range signers {
		keys[i] = a.key
		a.lastActive = g.now
	}
	tx := &Tx{
		Type: body.Type(), Signer: s.addr, Nonce: s.nonce, Seq: g.seq, Group: g.group,
		utx:  &ledger.Tx{ChainID: g.cfg.ChainID, Nonce: s.nonce, Body: body},
		keys: keys, body: body, signers: signers,
	}
	if !g.discard {
		if ref == nil {
			ref = &txRef{signer: s.addr, at: g.now}
		}
		ref.nonce.Store(s.nonce)
		tx.ref = ref
		g.trace(tx, signers)
		g.out = append(g.out, tx)
	}
	return tx
}

// label attaches a ground-truth line naming tx itself.
func (g *Generator) label(tx *Tx, scenario, subject, format string, args ...any) {
	g.labelRef(tx, tx, scenario, subject, format, args...)
}

// labelRef attaches to tx a ground-truth line naming ref (a settlement's lock, say).
func (g *Generator) labelRef(tx, ref *Tx, scenario, subject, format string, args ...any) {
	ref.sign()
	tx.sign()
	tx.Labels = append(tx.Labels, Label{
		Scenario: scenario, Tx: ref.Hash.String(), Subject: subject, Detail: fmt.Sprintf(format, args...),
	})
}

func (g *Generator) beginGroup() {
	g.groups++
	g.group = g.groups
}

func (g *Generator) endGroup() { g.group = 0 }

// newAccount adds an account to the model; name derives its demo key.
func (g *Generator) newAccount(name string, kind ledger.AccountKind, sponsor string, venues []string, ownerRef ledger.Hash, role accountRole) *account {
	key := ledger.DemoKey(g.cfg.DemoSeed, name)
	n := len(g.assets)
	a := &account{
		idx: len(g.accounts), key: key, pub: ledger.PubKeyOf(key), kind: kind, sponsor: sponsor,
		venues: venues, owner: ownerRef, role: role,
		bal: make([]uint64, n), locked: make([]uint64, n), inbound: make([]uint64, n),
		lastIn: make([]int64, n), lastOut: make([]int64, n), holderPos: make([]int32, n),
	}
	a.addr = ledger.AddressOf(a.pub)
	for i := range a.holderPos {
		a.holderPos[i] = -1
		a.lastIn[i], a.lastOut[i] = -1<<40, -1<<40
	}
	g.accounts = append(g.accounts, a)
	g.byAddr[a.addr] = a
	return a
}

// ownerRef is the owner reference of a named beneficial owner: a salted hash, as a member
// would derive it from the owner's identity documents.
func (g *Generator) ownerRef(name string) ledger.Hash {
	return sha256.Sum256([]byte("ledgerscope/loadgen/owner/" + g.cfg.DemoSeed + "/" + name))
}

// register emits the account's registration by its sponsor's operator.
func (g *Generator) register(a *account) *Tx {
	tx := g.emit(&ledger.RegisterAccount{PubKey: a.pub, Kind: a.kind, OwnerRef: a.owner, Venues: a.venues}, g.members[a.sponsor])
	tx.registers = a
	a.reg = tx.ref
	// The clock is read in whole seconds: one more covers the fraction lost.
	a.usableAt = g.now + int64((g.cfg.ActivationDelay+time.Second-1)/time.Second) + 1
	return tx
}

// Model updates.

func (g *Generator) credit(a *account, as *assetState, amt uint64) {
	a.bal[as.idx] += amt
	if as == g.coin {
		a.coin.record(g.now, int64(amt))
	}
	g.index(a, as)
}

func (g *Generator) debit(a *account, as *assetState, amt uint64) {
	a.bal[as.idx] -= amt
	if as == g.coin {
		a.coin.record(g.now, -int64(amt))
	}
	g.index(a, as)
}

// move models a delivery of amt from one account to another.
func (g *Generator) move(from, to *account, as *assetState, amt uint64) {
	g.debit(from, as, amt)
	g.credit(to, as, amt)
	if as == g.coin {
		from.payer, to.payer = true, false
	}
	from.lastOut[as.idx] = g.now
	to.lastIn[as.idx] = g.now
	from.lastActive, to.lastActive = g.now, g.now
}

// index keeps the holders of each non-coin asset findable.
func (g *Generator) index(a *account, as *assetState) {
	if as == g.coin {
		return
	}
	i := as.idx
	switch pos := a.holderPos[i]; {
	case a.bal[i] > 0 && pos < 0:
		a.holderPos[i] = int32(len(g.holders[i]))
		g.holders[i] = append(g.holders[i], a)
	case a.bal[i] == 0 && pos >= 0:
		last := g.holders[i][len(g.holders[i])-1]
		g.holders[i][pos] = last
		last.holderPos[i] = pos
		g.holders[i] = g.holders[i][:len(g.holders[i])-1]
		a.holderPos[i] = -1
	}
}

// mint emits a mint of a non-coin asset by its issuer.
func (g *Generator) mint(as *assetState, to *account, amt uint64) *Tx {
	tx := g.emit(&ledger.Mint{Asset: as.symbol, To: to.addr, Amount: amt}, g.members[as.spec.issuer])
	g.credit(to, as, amt)
	as.supply += amt
	return tx
}

// attest emits a reserve attestation of amount.
func (g *Generator) attest(amount uint64) *Tx {
	g.attests++
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], g.attests)
	report := sha256.Sum256(append([]byte("ledgerscope/loadgen/reserve-report/"+g.cfg.DemoSeed+"/"), seq[:]...))
	tx := g.emit(&ledger.AttestReserves{Amount: amount, AsOf: g.now - 60, Report: report}, g.members[bankID])
	g.reserve, g.lastAttest = amount, g.now
	return tx
}

// mintCoin has the settlement bank attest the deposit first, raising the reserve by the
// amount minted, then mint: every clean mint is covered by a reserve increase before it.
func (g *Generator) mintCoin(to *account, amt uint64) *Tx {
	g.attest(max(g.reserve, g.coin.supply) + amt)
	return g.mintCoinUncovered(to, amt)
}

func (g *Generator) mintCoinUncovered(to *account, amt uint64) *Tx {
	tx := g.emit(&ledger.Mint{Asset: ledger.CoinSymbol, To: to.addr, Amount: amt}, g.members[bankID])
	g.credit(to, g.coin, amt)
	g.coin.supply += amt
	return tx
}

// Selection.

const pickTries = 24

// usable reports whether clean traffic may use the account now.
func (g *Generator) usable(a *account) bool {
	return a.role == roleClean && !a.frozen && a.usableAt <= g.now
}

func (g *Generator) pickClean(ok func(*account) bool) *account {
	if len(g.clean) == 0 {
		return nil
	}
	for range pickTries {
		a := g.clean[g.rng.IntN(len(g.clean))]
		if g.usable(a) && ok(a) {
			return a
		}
	}
	return nil
}

func (g *Generator) pickHolder(as *assetState, ok func(*account) bool) *account {
	h := g.holders[as.idx]
	if len(h) == 0 {
		return nil
	}
	for range pickTries {
		a := h[g.rng.IntN(len(h))]
		if g.usable(a) && ok(a) {
			return a
		}
	}
	return nil
}

// canReceive reports whether a clean account may take qty more of an asset and stay far from
// the holding and position rules.
func (g *Generator) canReceive(a *account, as *assetState, qty uint64) bool {
	return a.bal[as.idx]+a.inbound[as.idx]+qty <= as.holdCap()
}

// inSession reports whether a trade placed now at venue executes in session.
func (g *Generator) inSession(venue string) bool {
	t := time.Unix(g.now, 0)
	return g.cfg.Session(venue, t) && g.cfg.Session(venue, t.Add(sessionMargin*time.Second))
}

// jitter moves a reference price by up to ±1%, at least one fen.
func (g *Generator) jitter(price uint64) uint64 {
	p := price * uint64(990+g.rng.IntN(21)) / 1000
	return max(p, 1)
}

// between returns a uniform integer in [lo, hi].
func (g *Generator) between(lo, hi uint64) uint64 {
	if hi <= lo {
		return lo
	}
	return lo + g.rng.Uint64N(hi-lo+1)
}

// Scheduling.

// step is work due later: the next part of a settlement or a scenario.
type step struct {
	due, earliest int64
	seq           uint64
	tx            bool // emits transactions, so a drain waits for it
	fn            func()
}

// stepQueue orders steps by due time, or by earliest time once draining.
type stepQueue struct {
	items    []*step
	draining bool
}

func (q *stepQueue) key(s *step) int64 {
	if q.draining {
		return s.earliest
	}
	return s.due
}

func (q *stepQueue) Len() int { return len(q.items) }
func (q *stepQueue) Less(i, j int) bool {
	ki, kj := q.key(q.items[i]), q.key(q.items[j])
	if ki != kj {
		return ki < kj
	}
	return q.items[i].seq < q.items[j].seq
}
func (q *stepQueue) Swap(i, j int) { q.items[i], q.items[j] = q.items[j], q.items[i] }
func (q *stepQueue) Push(x any)    { q.items = append(q.items, x.(*step)) }
func (q *stepQueue) Pop() any {
	s := q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	return s
}

// after schedules fn to run delay seconds from now, or as early as minDelay when draining.
func (g *Generator) after(delay, minDelay int64, fn func()) {
	g.schedule(delay, minDelay, true, fn)
}

// later schedules a change of the model alone, which a drain need not wait for.
func (g *Generator) later(delay int64, fn func()) {
	g.schedule(delay, delay, false, fn)
}

func (g *Generator) schedule(delay, minDelay int64, tx bool, fn func()) {
	g.stepSeq++
	heap.Push(&g.sched, &step{
		due: g.now + delay, earliest: g.now + min(minDelay, delay), seq: g.stepSeq, tx: tx, fn: fn,
	})
}

// activeIn is the delay until every account given may sign.
func (g *Generator) activeIn(accts ...*account) int64 {
	var d int64
	for _, a := range accts {
		d = max(d, a.usableAt-g.now)
	}
	return d
}
