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
// the ledger (memchain), the sync and the rules, and compares every finding of the rules the
// reference covers (reference_test.go) with it, field by field. A failing seed replays with
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

const diffStock = "600950"

// diffGen generates one seed's traffic and keeps what it needs to make it dense with edge
// cases: each account's coin and stock as the ledger reports them.
type diffGen struct {
	t      *testing.T
	rnd    *rand.Rand
	c      *chain
	now    time.Time
	nonces map[ledger.Address]uint64
	accts  []ed25519.PrivateKey
	owners []int // owner index of each account
	big    ed25519.PrivateKey
	coin   map[ledger.Address]int64
	stock  map[ledger.Address]int64
	frozen map[ledger.Address]bool
	blocks []*node.CommittedBlock
}

func (g *diffGen) sign(body ledger.Body, k ed25519.PrivateKey) []byte {
	a := addr(k)
	g.nonces[a]++
	return (&ledger.Tx{ChainID: testChainID, Nonce: g.nonces[a], Body: body}).Sign(k)
}

// block commits txs at the clock and follows the balances and freezes they report.
func (g *diffGen) block(txs ...[]byte) {
	b := g.c.execRaw(g.now, txs)
	g.blocks = append(g.blocks, b)
	for _, r := range b.TxResults {
		if ledger.Code(r.Code) != ledger.CodeOK {
			continue
		}
		evs, err := ledger.TxEvents(r)
		if err != nil {
			g.t.Fatal(err)
		}
		for _, ev := range evs {
			switch e := ev.(type) {
			case *ledger.BalanceEvent:
				if e.Asset == ledger.CoinSymbol {
					g.coin[e.Account] = int64(e.Amount)
				} else {
					g.stock[e.Account] = int64(e.Amount)
				}
			case *ledger.FreezeEvent:
				g.frozen[e.Account] = e.Frozen
			}
		}
	}
}

// step advances the clock by one of the steps that put windows' ends on block times.
func (g *diffGen) step() {
	steps := []time.Duration{time.Second, time.Second, 7 * time.Second, time.Minute, 30 * time.Minute,
		time.Hour - time.Second, time.Hour, time.Hour, time.Hour + time.Second, 8 * time.Hour,
		24 * time.Hour, 5*24*time.Hour - time.Second}
	g.now = g.now.Add(steps[g.rnd.IntN(len(steps))])
}

// setup registers 3 to 5 owners with 1 to 3 accounts each at HTSC or GTJA, a holder of a new
// stock's whole supply, and funds some accounts with coin.
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
				OwnerRef: sha256.Sum256([]byte(fmt.Sprintf("diff-owner/%d", o))), Venues: []string{"SZFE"}}, memberKey(member)))
			g.accts = append(g.accts, k)
			g.owners = append(g.owners, o)
		}
	}
	g.big = demoKey("diff/big")
	regs = append(regs, g.sign(&ledger.RegisterAccount{PubKey: ledger.PubKeyOf(g.big), Kind: ledger.KindInstitution,
		OwnerRef: sha256.Sum256([]byte("diff-owner/big")), Venues: []string{"SZFE"}}, memberKey("HTSC")))
	g.block(regs...)
	g.now = g.now.Add(time.Second)
	txs := [][]byte{
		g.sign(&ledger.IssueAsset{Symbol: diffStock, Name: "Diff Co", Class: ledger.ClassSecurity, Kind: ledger.SecurityStock, Venue: "SZFE"}, memberKey("PAFG")),
		g.sign(&ledger.Mint{Asset: diffStock, To: addr(g.big), Amount: 1_000_000}, memberKey("PAFG")),
		g.sign(&ledger.AttestReserves{Amount: 1 << 50, AsOf: g.now.Unix() - 60, Report: sha256.Sum256([]byte("r"))}, memberKey("BOCS")),
	}
	for _, k := range g.accts {
		if g.rnd.IntN(2) == 0 {
			txs = append(txs, g.sign(&ledger.Mint{Asset: ledger.CoinSymbol, To: addr(k), Amount: uint64(g.coinAmount(1 << 40))}, memberKey("BOCS")))
		}
	}
	g.block(txs...)
	g.step()
}

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

// op makes one random transaction.
func (g *diffGen) op() []byte {
	a, b := g.pair()
	switch r := g.rnd.IntN(100); {
	case r < 45:
		return g.sign(&ledger.Transfer{To: addr(b), Asset: ledger.CoinSymbol, Amount: uint64(g.coinAmount(g.coin[addr(a)]))}, a)
	case r < 55:
		return g.sign(&ledger.Mint{Asset: ledger.CoinSymbol, To: addr(a), Amount: uint64(g.coinAmount(0))}, memberKey("BOCS"))
	case r < 60 && g.coin[addr(a)] > 0:
		// A payment of what the payer received, to one who holds little: RAPID's setting.
		return g.sign(&ledger.Transfer{To: addr(b), Asset: ledger.CoinSymbol, Amount: uint64(min(g.coin[addr(a)], 100_000_00))}, a)
	case r < 65:
		return g.sign(&ledger.SettleDvP{Venue: "SZFE", Seller: addr(a), Buyer: addr(b), Asset: diffStock,
			Quantity: uint64(g.stockAmount(g.stock[addr(a)])), Cash: uint64(g.coinAmount(g.coin[addr(b)])), TradeRef: "D"}, memberKey("SZFE"))
	case r < 75:
		return g.sign(&ledger.Transfer{To: addr(a), Asset: diffStock, Amount: uint64(g.stockAmount(0))}, g.big)
	case r < 85:
		return g.sign(&ledger.Transfer{To: addr(b), Asset: diffStock, Amount: uint64(g.stockAmount(g.stock[addr(a)]))}, a)
	case r < 92:
		if g.frozen[addr(a)] {
			return g.sign(&ledger.Unfreeze{Account: addr(a), Reason: "diff"}, demoKey("regulator"))
		}
		return g.sign(&ledger.Freeze{Account: addr(a), Reason: "diff"}, demoKey("regulator"))
	default:
		return g.sign(&ledger.Transfer{To: addr(g.big), Asset: diffStock, Amount: uint64(g.stockAmount(g.stock[addr(a)]))}, a)
	}
}

// run makes n blocks of 1 to 3 random transactions.
func (g *diffGen) run(n int) {
	for range n {
		txs := make([][]byte, 1+g.rnd.IntN(3))
		for i := range txs {
			txs[i] = g.op()
		}
		g.block(txs...)
		g.step()
	}
}

// runDifferential builds one seed's chain in two parts, syncs and runs the rules after each
// (a restart mid-window: the second part's runner is a new one, resuming from the stored
// cursor and state), with passes of 1, 7 or 200 blocks, and compares with the reference.
func runDifferential(t *testing.T, seed int64) {
	rnd := rand.New(rand.NewPCG(uint64(seed), 18))
	start := time.Date(2026, 11, 2, 23, 0, 0, 0, shanghai).Add(time.Duration(rnd.IntN(3600)) * time.Second)
	g := &diffGen{t: t, rnd: rnd, c: newChain(t, start), now: start, nonces: map[ledger.Address]uint64{},
		coin: map[ledger.Address]int64{}, stock: map[ledger.Address]int64{}, frozen: map[ledger.Address]bool{}}
	batch := []int64{1, 7, 200}[rnd.IntN(3)]
	g.setup()
	first := 4 + rnd.IntN(10)
	g.run(first)
	db := fastDB(t)
	syncAll(t, g.c, db)
	runAll(t, db, batch)
	g.run(4 + rnd.IntN(10))
	syncAll(t, g.c, db)
	runAll(t, db, batch)

	l, err := newRefLedger(g.blocks)
	if err != nil {
		t.Fatal(err)
	}
	want := l.reference()
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
		if !reflect.DeepEqual(fig[n], want) {
			out = append(out, fmt.Sprintf("%s: %s = %v, want %v", k, n, fig[n], want))
		}
	}
	return out
}
