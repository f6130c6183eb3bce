package compliance

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/node"
	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

var (
	diffSeeds = flag.Int("diff-seeds", 200, "how many seeds TestDifferential runs")
	diffSeed  = flag.Int64("seed", -1, "replay one seed of TestDifferential (or LEDGERSCOPE_DIFF_SEED)")
)

// diffSeedList is the seeds to run: the one asked for, or 1..diff-seeds.
func diffSeedList(t *testing.T) []int64 {
	if s := os.Getenv("LEDGERSCOPE_DIFF_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("LEDGERSCOPE_DIFF_SEED: %v", err)
		}
		return []int64{n}
	}
	if *diffSeed >= 0 {
		return []int64{*diffSeed}
	}
	n := *diffSeeds
	if testing.Short() {
		n = min(n, 20)
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i + 1)
	}
	return out
}

// TestDifferential drives seeded random traffic, dense with the rules' edge cases, through
// the ledger (memchain), the sync and the rules, and compares every finding of every rule
// with the reference (reference*_test.go), field by field. A failing seed replays with
// -seed N.
func TestDifferential(t *testing.T) {
	// A seed spends most of its time waiting on PostgreSQL and the sync's polls: several at
	// once, more than -parallel's cores, keep the test short.
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, seed := range diffSeedList(t) {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			t.Run(fmt.Sprint(seed), func(t *testing.T) { runDifferential(t, seed) })
		}()
	}
	wg.Wait()
}

const (
	diffStock  = "600950"
	diffFuture = "IF2612"
	// diffLimit is the future's position limit, in lots.
	diffLimit = 500
)

// diffGen generates one seed's traffic and keeps what it needs to make it dense with edge
// cases: each account's holdings as the ledger reports them, the coin's supply and reserve,
// the open gateway settlements.
type diffGen struct {
	t      *testing.T
	rnd    *rand.Rand
	c      *chain
	now    time.Time
	nonces map[ledger.Address]uint64
	accts  []ed25519.PrivateKey
	owners []int // owner index of each account
	big    ed25519.PrivateKey
	hold   map[diffHolding]int64
	locked map[diffHolding]int64
	frozen map[ledger.Address]bool
	blocks []*node.CommittedBlock
	// supply and reserve are the coin's, lastAttest the block time of the last attestation.
	supply, reserve int64
	lastAttest      time.Time
	// locks are the gateway settlements the ledger reported locked and not yet closed.
	locks []diffLock
	// edge is what the last step landed on, due the settlement whose deadline it was.
	edge diffEdge
	due  ledger.Hash
	// dvps are the DvPs settled since the last sync; cuts those whose cash leg the test
	// deleted from the database.
	dvps []diffDvP
	cuts []ledger.Hash
}

// diffDvP is a DvP the ledger settled, in g.blocks[block].
type diffDvP struct {
	id            ledger.Hash
	seller, buyer ledger.Address
	block         int
}

// diffEdge is what a step landed the clock on, for the next block to test.
type diffEdge int

const (
	edgeNone diffEdge = iota
	edgeSession
	edgeDeadline
)

// diffHolding is an account's holding of an asset.
type diffHolding struct {
	a     ledger.Address
	asset string
}

// diffLock is an open gateway settlement.
type diffLock struct {
	id       ledger.Hash
	deadline time.Time
}

func (g *diffGen) sign(body ledger.Body, k ed25519.PrivateKey) []byte {
	a := addr(k)
	g.nonces[a]++
	return (&ledger.Tx{ChainID: testChainID, Nonce: g.nonces[a], Body: body}).Sign(k)
}

// bal is an account's free holding of an asset.
func (g *diffGen) bal(k ed25519.PrivateKey, asset string) int64 {
	h := diffHolding{addr(k), asset}
	return g.hold[h] - g.locked[h]
}

// block commits txs at the clock and follows what they report.
func (g *diffGen) block(txs ...[]byte) {
	b := g.c.execRaw(g.now, txs)
	g.blocks = append(g.blocks, b)
	evs, err := ledger.ParseEvents(b.Events)
	if err != nil {
		g.t.Fatal(err)
	}
	g.follow(evs)
	for _, r := range b.TxResults {
		if ledger.Code(r.Code) != ledger.CodeOK {
			continue
		}
		evs, err := ledger.TxEvents(r)
		if err != nil {
			g.t.Fatal(err)
		}
		g.follow(evs)
	}
}

// follow keeps what events report.
func (g *diffGen) follow(evs []ledger.Event) {
	for _, ev := range evs {
		switch e := ev.(type) {
		case *ledger.BalanceEvent:
			g.hold[diffHolding{e.Account, e.Asset}] = int64(e.Amount)
			g.locked[diffHolding{e.Account, e.Asset}] = int64(e.Locked)
		case *ledger.FreezeEvent:
			g.frozen[e.Account] = e.Frozen
		case *ledger.MintEvent:
			if e.Asset == ledger.CoinSymbol {
				g.supply = int64(e.Supply)
			}
		case *ledger.BurnEvent:
			if e.Asset == ledger.CoinSymbol {
				g.supply = int64(e.Supply)
			}
		case *ledger.ReservesEvent:
			g.reserve, g.lastAttest = int64(e.Amount), g.now
		case *ledger.SettlementEvent:
			switch {
			case e.Kind == "dvp":
				g.dvps = append(g.dvps, diffDvP{e.ID, e.Seller, e.Buyer, len(g.blocks) - 1})
			case e.State == ledger.SettlementLocked:
				g.locks = append(g.locks, diffLock{e.ID, time.Unix(e.Deadline, 0)})
			default:
				g.locks = slices.DeleteFunc(g.locks, func(l diffLock) bool { return l.id == e.ID })
			}
		}
	}
}

// step advances the clock by one of the steps that put windows' ends on block times: now
// and then exactly onto (or a second either side of) a session boundary, an open
// settlement's deadline or the attestation's age limit.
func (g *diffGen) step() {
	next := g.now
	switch r := g.rnd.IntN(100); {
	case r < 10:
		next = g.sessionEdge()
		g.edge = edgeSession
	case r < 22:
		if len(g.locks) > 0 {
			l := g.locks[g.rnd.IntN(len(g.locks))]
			next, g.due, g.edge = l.deadline, l.id, edgeDeadline
		}
	case r < 24:
		next = g.lastAttest.Add(31 * 24 * time.Hour) // ATTEST-AGE's limit, if still ahead
	}
	next = next.Add(time.Duration(g.rnd.IntN(3)-1) * time.Second)
	if !next.After(g.now) {
		g.edge = edgeNone
		steps := []time.Duration{time.Second, time.Second, 7 * time.Second, time.Minute, 30 * time.Minute,
			time.Hour - time.Second, time.Hour, time.Hour, time.Hour + time.Second, 8 * time.Hour,
			24 * time.Hour, 5*24*time.Hour - time.Second}
		next = g.now.Add(steps[g.rnd.IntN(len(steps))])
	}
	g.now = next
}

// sessionEdge is the next SZFE session boundary (09:30, 11:30, 13:00, 15:00 Shanghai time).
func (g *diffGen) sessionEdge() time.Time {
	lt := g.now.In(shanghai)
	day := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, shanghai)
	for d := 0; ; d++ {
		for _, m := range []int{9*60 + 30, 11*60 + 30, 13 * 60, 15 * 60} {
			if at := day.AddDate(0, 0, d).Add(time.Duration(m) * time.Minute); at.After(g.now) {
				return at
			}
		}
	}
}

// setup registers 3 to 5 owners with 1 to 3 accounts each at HTSC or GTJA, a holder of a new
// stock's and a new future's whole supply, and funds some accounts with coin, after an
// attestation at, just under or above what they receive.
func (g *diffGen) setup() {
	var regs [][]byte
	nOwners := 3 + g.rnd.IntN(3)
	for o := range nOwners {
		for range 1 + g.rnd.IntN(3) {
			i := len(g.accts)
			k := demoKey(fmt.Sprintf("diff/%d", i))
			kind := ledger.KindIndividual
			if g.rnd.IntN(4) == 0 {
				kind = ledger.KindInstitution
			}
			member := []string{"HTSC", "GTJA"}[g.rnd.IntN(2)]
			regs = append(regs, g.sign(&ledger.RegisterAccount{PubKey: ledger.PubKeyOf(k), Kind: kind,
				OwnerRef: diffOwner(o), Venues: []string{"SZFE"}}, memberKey(member)))
			g.accts = append(g.accts, k)
			g.owners = append(g.owners, o)
		}
	}
	g.big = demoKey("diff/big")
	regs = append(regs, g.sign(&ledger.RegisterAccount{PubKey: ledger.PubKeyOf(g.big), Kind: ledger.KindInstitution,
		OwnerRef: sha256.Sum256([]byte("diff-owner/big")), Venues: []string{"SZFE"}}, memberKey("HTSC")))
	g.block(regs...)
	g.now = g.now.Add(time.Second)
	funded := map[int]int64{}
	var total int64
	for i := range g.accts {
		if g.rnd.IntN(2) == 0 {
			funded[i] = g.coinAmount(1 << 40)
			total += funded[i]
		}
	}
	// Signed in block order: a signer's nonces must come in the order it executes them.
	txs := [][]byte{
		g.sign(&ledger.IssueAsset{Symbol: diffStock, Name: "Diff Co", Class: ledger.ClassSecurity, Kind: ledger.SecurityStock, Venue: "SZFE"}, memberKey("PAFG")),
		g.sign(&ledger.Mint{Asset: diffStock, To: addr(g.big), Amount: 1_000_000}, memberKey("PAFG")),
		g.sign(&ledger.IssueAsset{Symbol: diffFuture, Name: "Diff future", Class: ledger.ClassSecurity, Kind: ledger.SecurityFuture,
			Venue: "TJCE", PositionLimit: diffLimit}, memberKey("TJCE")),
		g.sign(&ledger.Mint{Asset: diffFuture, To: addr(g.big), Amount: 100_000}, memberKey("TJCE")),
		g.attest(max(1, total+[]int64{0, -1, 1, 1_000_000_00}[g.rnd.IntN(4)])),
	}
	for i, k := range g.accts {
		if amt, ok := funded[i]; ok {
			txs = append(txs, g.sign(&ledger.Mint{Asset: ledger.CoinSymbol, To: addr(k), Amount: uint64(amt)}, memberKey("BOCS")))
		}
	}
	g.block(txs...)
	g.step()
}

// diffOwner is the owner_ref of owner o.
func diffOwner(o int) ledger.Hash { return sha256.Sum256([]byte(fmt.Sprintf("diff-owner/%d", o))) }

// coinAmount picks an amount at or around a threshold, or a share of bal around RAPID's.
func (g *diffGen) coinAmount(bal int64) int64 {
	tI, tN := int64(defaultLVIndividual), int64(defaultLVInstitution)
	menu := []int64{tI, tI - 1, tI * 9 / 10, tI*9/10 - 1, tI*9/10 + 1, tI * 95 / 100, tN * 9 / 10, tN - 1, tN * 95 / 100,
		100_00, 1 + g.rnd.Int64N(1_000_000_00)}
	if bal > 0 && bal < 1<<40 && g.rnd.IntN(2) == 0 {
		// RAPID's edges: all of it, 90% of it and a fen either side, 92.5%.
		menu = []int64{bal, bal * 9 / 10, bal*9/10 + 1, bal*9/10 - 1, bal - bal/10, bal - bal/10 - 1, bal * 925 / 1000}
	}
	return max(1, menu[g.rnd.IntN(len(menu))])
}

// stockAmount picks an amount at or around 5% and 1% of the supply.
func (g *diffGen) stockAmount(bal int64) int64 {
	menu := []int64{50_000, 49_999, 50_001, 10_000, 9_999, 10_001, 40_000, 60_000, 1 + g.rnd.Int64N(100_000)}
	if bal > 0 {
		menu = append(menu, bal, bal/2)
	}
	return max(1, menu[g.rnd.IntN(len(menu))])
}

// pick returns a random account, and another of the same owner half the time when there is one.
func (g *diffGen) pair() (ed25519.PrivateKey, ed25519.PrivateKey) {
	i := g.rnd.IntN(len(g.accts))
	var same []int
	for j, o := range g.owners {
		if o == g.owners[i] && j != i {
			same = append(same, j)
		}
	}
	if len(same) > 0 && g.rnd.IntN(3) == 0 {
		return g.accts[i], g.accts[same[g.rnd.IntN(len(same))]]
	}
	j := g.rnd.IntN(len(g.accts) - 1)
	if j >= i {
		j++
	}
	return g.accts[i], g.accts[j]
}

// op makes one random transaction, or a few that belong together.
func (g *diffGen) op() [][]byte {
	a, b := g.pair()
	one := func(body ledger.Body, k ed25519.PrivateKey) [][]byte { return [][]byte{g.sign(body, k)} }
	switch r := g.rnd.IntN(100); {
	case r < 30:
		return one(&ledger.Transfer{To: addr(b), Asset: ledger.CoinSymbol, Amount: uint64(g.coinAmount(g.bal(a, ledger.CoinSymbol)))}, a)
	case r < 36:
		return one(&ledger.Mint{Asset: ledger.CoinSymbol, To: addr(a), Amount: uint64(g.coinAmount(0))}, memberKey("BOCS"))
	case r < 40 && g.bal(a, ledger.CoinSymbol) > 0:
		// A payment of what the payer received, to one who holds little: RAPID's setting.
		return one(&ledger.Transfer{To: addr(b), Asset: ledger.CoinSymbol, Amount: uint64(min(g.bal(a, ledger.CoinSymbol), 100_000_00))}, a)
	case r < 46:
		return one(&ledger.SettleDvP{Venue: "SZFE", Seller: addr(a), Buyer: addr(b), Asset: diffStock,
			Quantity: uint64(g.stockAmount(g.bal(a, diffStock))), Cash: uint64(g.coinAmount(g.bal(b, ledger.CoinSymbol))), TradeRef: "D"}, memberKey("SZFE"))
	case r < 52:
		return one(&ledger.Transfer{To: addr(a), Asset: diffStock, Amount: uint64(g.stockAmount(0))}, g.big)
	case r < 58:
		return one(&ledger.Transfer{To: addr(b), Asset: diffStock, Amount: uint64(g.stockAmount(g.bal(a, diffStock)))}, a)
	case r < 63:
		if g.frozen[addr(a)] {
			return one(&ledger.Unfreeze{Account: addr(a), Reason: "diff"}, demoKey("regulator"))
		}
		return one(&ledger.Freeze{Account: addr(a), Reason: "diff"}, demoKey("regulator"))
	case r < 75:
		return g.futuresOp(a, b)
	case r < 85:
		return g.coinOp(a)
	case r < 97:
		return g.gatewayOp(a, b)
	default:
		return one(&ledger.Transfer{To: addr(g.big), Asset: diffStock, Amount: uint64(g.stockAmount(g.bal(a, diffStock)))}, a)
	}
}

// run makes n blocks of 1 to 3 random transactions, or now and then a matched pair or a
// structuring run.
func (g *diffGen) run(n int) {
	for range n {
		switch g.rnd.IntN(12) {
		case 0, 1:
			g.matched()
			continue
		case 2:
			g.structuring()
			continue
		}
		var txs [][]byte
		switch g.edge {
		case edgeSession: // a trade on the boundary, or a second either side
			a, b := g.pair()
			txs = append(txs, g.sign(&ledger.SettleDvP{Venue: "SZFE", Seller: addr(a), Buyer: addr(b), Asset: diffStock,
				Quantity: uint64(g.stockAmount(g.bal(a, diffStock))), Cash: uint64(g.coinAmount(g.bal(b, ledger.CoinSymbol))), TradeRef: "E"}, memberKey("SZFE")))
		case edgeDeadline: // the gateway's word on the deadline, or a second either side
			txs = append(txs, g.sign(&ledger.ConfirmPayment{Settlement: g.due, PaymentRef: "E"}, memberKey("UPGW")))
		}
		g.edge = edgeNone
		for range 1 + g.rnd.IntN(3) {
			txs = append(txs, g.op()...)
		}
		g.block(txs...)
		g.step()
	}
}

// runDifferential builds one seed's chain in two parts, syncs and runs the rules after each
// (a restart mid-window: the second part's runner is a new one, resuming from the stored
// cursor and state), with passes of 1, 7 or 200 blocks, and compares with the reference.
// Before the first pass it uploads a watch list; before a pass it may delete a DvP's cash
// leg from the synced rows, which the ledger never does, and the reference's history too.
func runDifferential(t *testing.T, seed int64) {
	rnd := rand.New(rand.NewPCG(uint64(seed), 18))
	start := time.Date(2026, 11, 2, 23, 0, 0, 0, shanghai).Add(time.Duration(rnd.IntN(3600)) * time.Second)
	g := &diffGen{t: t, rnd: rnd, c: newChain(t, start), now: start, nonces: map[ledger.Address]uint64{},
		hold: map[diffHolding]int64{}, locked: map[diffHolding]int64{}, frozen: map[ledger.Address]bool{}}
	batch := []int64{1, 7, 200}[rnd.IntN(3)]
	g.setup()
	first := 4 + rnd.IntN(10)
	g.run(first)
	db := fastDB(t)
	syncAll(t, g.c, db)
	watch := g.watchList(db)
	g.cutLeg(db)
	runAll(t, db, batch)
	g.run(4 + rnd.IntN(10))
	syncAll(t, g.c, db)
	g.cutLeg(db)
	runAll(t, db, batch)

	l, err := newRefLedger(g.blocks)
	if err != nil {
		t.Fatal(err)
	}
	l.addGenesis(ledger.DemoGenesis(testDemoSeed))
	l.cut(g.cuts)
	want := append(l.reference(), l.refWatch(watch)...)
	counts := map[string]int{}
	for _, f := range want {
		counts[f.Rule]++
	}
	t.Logf("seed %d: %d blocks, passes of %d, reference findings %v", seed, len(g.blocks), batch, counts)
	compareFindings(t, seed, want, allViolations(t, db), batch)
}

// fastDB is a migrated test database that does not wait for its commits to reach the disk:
// the seeds' many small transactions spent most of their time there.
func fastDB(t *testing.T) *store.DB {
	t.Helper()
	u := pgtest.MigratedURL(t)
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{URL: u, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Pool.Exec(ctx, `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = off', current_database()); END $$`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if db, err = store.Open(ctx, store.Config{URL: u}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// compareFindings reports every finding of the covered rules that the runner and the
// reference do not agree on, field by field.
func compareFindings(t *testing.T, seed int64, want []refFinding, got []store.Violation, batch int64) {
	t.Helper()
	key := func(rule, subject, window string) string { return rule + " " + subject + " " + window }
	byKey := map[string]store.Violation{}
	for _, v := range got {
		if slices.Contains(referenceRules, v.RuleID) {
			byKey[key(v.RuleID, v.Subject, v.WindowKey)] = v
		}
	}
	var diffs []string
	for _, f := range want {
		k := key(f.Rule, f.Subject, f.WindowKey)
		v, ok := byKey[k]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("missing %s at %d %v", k, f.Height, f.Figures))
			continue
		}
		delete(byKey, k)
		diffs = append(diffs, diffViolation(k, f, v)...)
	}
	extra := make([]string, 0, len(byKey))
	for k, v := range byKey {
		extra = append(extra, fmt.Sprintf("extra %s at %d: %s", k, v.Height, v.Summary))
	}
	sort.Strings(extra)
	diffs = append(diffs, extra...)
	if len(diffs) > 0 {
		t.Errorf("seed %d (passes of %d blocks; replay with -seed %d): %d differences:\n%s", seed, batch, seed, len(diffs), strings.Join(diffs, "\n"))
	}
}

// diffViolation compares one violation with the reference's finding.
func diffViolation(k string, f refFinding, v store.Violation) []string {
	var out []string
	if v.Severity != f.Severity {
		out = append(out, fmt.Sprintf("%s: severity %s, want %s", k, v.Severity, f.Severity))
	}
	if v.Height != f.Height {
		out = append(out, fmt.Sprintf("%s: height %d, want %d", k, v.Height, f.Height))
	}
	if f.Member != "-" && v.Member != f.Member {
		out = append(out, fmt.Sprintf("%s: member %q, want %q", k, v.Member, f.Member))
	}
	if f.Members != nil && !slices.Equal([]string(v.Members), f.Members) {
		out = append(out, fmt.Sprintf("%s: members %v, want %v", k, v.Members, f.Members))
	}
	var fig map[string]any
	if err := json.Unmarshal(v.Figures, &fig); err != nil {
		return append(out, fmt.Sprintf("%s: figures: %v", k, err))
	}
	for n, want := range f.Figures {
		if !sameFigure(fig[n], want) {
			out = append(out, fmt.Sprintf("%s: %s = %v, want %v", k, n, fig[n], want))
		}
	}
	return out
}

// sameFigure compares two JSON values; times by the instant they name, whatever the zone
// the runner's process wrote them in.
func sameFigure(got, want any) bool {
	if reflect.DeepEqual(got, want) {
		return true
	}
	g, ok1 := got.(string)
	w, ok2 := want.(string)
	if !ok1 || !ok2 {
		return false
	}
	tg, err1 := time.Parse(time.RFC3339, g)
	tw, err2 := time.Parse(time.RFC3339, w)
	return err1 == nil && err2 == nil && tg.Equal(tw)
}
