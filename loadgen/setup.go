package loadgen

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// reservedOwners is how many multi-account owners the setup phase opens for the
// cross-account scenarios; more are opened on demand.
const reservedOwners = 16

// registerChunk bounds the registrations one setup step emits.
const registerChunk = 100

// planSetup builds the set-up population in the model and queues the setup phase. The
// population depends on the demo seed alone, not on Config.Seed, so that later runs with
// other seeds find it again (Restore).
func (g *Generator) planSetup() {
	h := sha256.Sum256([]byte("ledgerscope/loadgen/setup/" + g.cfg.DemoSeed))
	srng := rand.New(rand.NewPCG(binary.BigEndian.Uint64(h[:8]), binary.BigEndian.Uint64(h[8:16])))
	// Each step draws from srng in turn: their order is the population's.
	pop := g.planAccounts(srng)
	g.planIssues(srng, pop)
	g.planFunding(srng, pop)
}

// planAccounts builds the clients and the reserved multi-account owners, and queues their
// registrations. It returns the clients.
func (g *Generator) planAccounts(srng *rand.Rand) []*account {
	pop := make([]*account, g.cfg.Population)
	for i := range pop {
		kind := ledger.KindIndividual
		if srng.IntN(100) < 15 {
			kind = ledger.KindInstitution
		}
		var sponsor string
		switch r := srng.IntN(10); {
		case r < 4:
			sponsor = "HTSC"
		case r < 8:
			sponsor = "GTJA"
		default:
			sponsor = exchanges[srng.IntN(len(exchanges))]
		}
		name := fmt.Sprintf("loadgen/pop/%d", i)
		pop[i] = g.newAccount(name, kind, sponsor, pickVenues(srng), g.ownerRef(name), roleClean)
		g.clean = append(g.clean, pop[i])
	}
	all := append([]*account(nil), pop...)
	for i := range reservedOwners {
		o := g.newOwner(fmt.Sprintf("loadgen/pair/%d", i), ledger.AccountKind(1+i%2), i%3 == 0, roleReserved)
		g.reserved = append(g.reserved, o)
		all = append(all, o.accts...)
	}
	for lo := 0; lo < len(all); lo += registerChunk {
		chunk := all[lo:min(lo+registerChunk, len(all))]
		g.setup = append(g.setup, func() {
			for _, a := range chunk {
				g.register(a)
			}
		})
	}
	return pop
}

// planIssues queues the issue of each asset but the coin, with its initial distribution to
// some of the clients pop.
func (g *Generator) planIssues(srng *rand.Rand, pop []*account) {
	for _, as := range g.assets[1:] {
		spec := as.spec
		n := min(spec.holders, len(pop)*2/3)
		who := srng.Perm(len(pop))[:n]
		amounts := make([]uint64, n)
		for k := range amounts {
			amounts[k] = (spec.lotsMin + srng.Uint64N(spec.lotsMin+1)) * spec.lot
		}
		g.setup = append(g.setup, func() {
			// A security's issue and initial distribution form one group, so that no block
			// boundary shows an early holder with a large share of a partial supply.
			if spec.security() {
				g.beginGroup()
			}
			g.emit(spec.body, g.members[spec.issuer])
			for k, pi := range who {
				if pop[pi].role != roleDead {
					g.mint(as, pop[pi], amounts[k])
				}
			}
			g.endGroup()
			as.frozenSupply = spec.security()
		})
	}
}

// planFunding queues the coin that most of the clients pop start with.
func (g *Generator) planFunding(srng *rand.Rand, pop []*account) {
	type funding struct {
		to  *account
		amt uint64
	}
	var funds []funding
	for _, a := range pop {
		if srng.IntN(100) >= 70 {
			continue // some clients hold securities only
		}
		amt := (30_000 + srng.Uint64N(70_001)) * fenPerYuan
		if a.kind == ledger.KindInstitution {
			// Below 0.9 of the individual threshold too: a mint read as a transfer from the
			// bank must not fall in a structuring band either.
			amt = (150_000 + srng.Uint64N(250_001)) * fenPerYuan
		}
		// Half the funded clients start out buying, the rest selling first.
		a.payer = srng.IntN(2) == 0
		funds = append(funds, funding{a, amt})
	}
	for lo := 0; lo < len(funds); lo += registerChunk {
		chunk := funds[lo:min(lo+registerChunk, len(funds))]
		g.setup = append(g.setup, func() {
			for _, f := range chunk {
				if f.to.role != roleDead {
					g.mintCoin(f.to, f.amt)
				}
			}
		})
	}
}

// pickVenues returns the exchanges an account authorises: usually all, sometimes a few.
func pickVenues(rng *rand.Rand) []string {
	if rng.IntN(100) < 80 {
		return exchanges
	}
	mask := 1 + rng.IntN(1<<len(exchanges)-1)
	var out []string
	for i, v := range exchanges {
		if mask&(1<<i) != 0 {
			out = append(out, v)
		}
	}
	return out
}

// newOwner adds a beneficial owner with accounts at both brokers, and at an exchange when
// three is true. Every account authorises every venue.
func (g *Generator) newOwner(name string, kind ledger.AccountKind, three bool, role accountRole) *owner {
	o := &owner{ref: g.ownerRef(name), kind: kind}
	sponsors := []string{"HTSC", "GTJA"}
	if three {
		sponsors = append(sponsors, exchanges[len(g.accounts)%len(exchanges)])
	}
	for j, sp := range sponsors {
		o.accts = append(o.accts, g.newAccount(fmt.Sprintf("%s/%d", name, j), kind, sp, exchanges, o.ref, role))
	}
	return o
}

// Querier answers the ledger's ABCI queries (ledger/query.go): a path such as
// "/account/<address>" in, the JSON answer out.
type Querier interface {
	Query(ctx context.Context, path string) ([]byte, error)
}

// ErrNotFound is what a Querier returns when the ledger has no such thing.
var ErrNotFound = errors.New("not found on the ledger")

// accountView is the part of the ledger's /account answer the generator reads.
type accountView struct {
	Nonce      uint64
	StatusName string `json:"status_name"`
	Balances   map[string]struct {
		Amount uint64 `json:"amount"`
		Locked uint64 `json:"locked"`
	} `json:"balances"`
}

// Restore makes the generator continue on a chain where an earlier run did the setup: it
// applies the setup phase to its model without emitting it, then reads every nonce, holding
// and supply it relies on back from the chain. Call it before the first Next.
//
// What the chain does not tell is the recent coin history of each account, which the clean
// large-value and rapid-movement budgets depend on; so restored accounts move no coin until
// the Shanghai day after tomorrow, and clean coin traffic comes from newly onboarded clients.
// The multi-account owners of the setup may have served an earlier run's scenarios, so they
// are retired and scenarios open fresh ones.
func (g *Generator) Restore(ctx context.Context, q Querier) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seq > 0 || g.restored {
		return errors.New("restore: the generator has already generated traffic")
	}
	g.now = g.cfg.Clock.Now().Unix()
	g.replaySetup()
	if err := g.restoreAccounts(ctx, q); err != nil {
		return err
	}
	if err := g.restoreSupplies(ctx, q); err != nil {
		return err
	}
	if err := g.checkSeedUnused(ctx, q); err != nil {
		return err
	}
	g.restored = true
	return nil
}

// replaySetup applies the setup phase to the model without emitting it.
func (g *Generator) replaySetup() {
	g.discard = true
	for len(g.setup) > 0 {
		f := g.setup[0]
		g.setup = g.setup[1:]
		f()
	}
	g.discard = false
	g.seq = 0
}

// restoreAccounts reads every account's nonce, status and holdings back from the chain, and
// retires the reserved owners.
func (g *Generator) restoreAccounts(ctx context.Context, q Querier) error {
	for i := range g.holders {
		g.holders[i] = nil
	}
	quietUntil := (shanghaiDay(g.now)+2)*86400 - 8*3600
	for _, a := range g.accounts {
		v, err := queryJSON[accountView](ctx, q, "/account/"+a.addr.String())
		if errors.Is(err, ErrNotFound) && (a.role == roleClean || a.role == roleReserved) {
			return ErrNoSetup
		}
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		g.restoreAccount(a, &v, quietUntil)
	}
	g.reserved = nil
	return nil
}

// restoreAccount sets a's model to what the chain says of it, v; it moves no coin before
// quietUntil.
func (g *Generator) restoreAccount(a *account, v *accountView, quietUntil int64) {
	a.nonce = v.Nonce
	a.frozen = v.StatusName == ledger.StatusFrozen.String()
	for i := range a.bal {
		a.bal[i], a.locked[i], a.inbound[i], a.holderPos[i] = 0, 0, 0, -1
		// Nobody's last trades are known: wait out the matched-trade gap.
		a.lastIn[i], a.lastOut[i] = g.now, g.now
	}
	for sym, b := range v.Balances {
		if as := g.bySymbol[sym]; as != nil {
			a.bal[as.idx], a.locked[as.idx] = b.Amount, b.Locked
			g.index(a, as)
		}
	}
	a.coin = coinBook{blockedUntil: quietUntil}
	a.usableAt = g.now
	if a.role == roleReserved {
		a.role = roleScenario
	}
}

// restoreSupplies reads each asset's supply, and the reserves behind the coin, back from the
// chain.
func (g *Generator) restoreSupplies(ctx context.Context, q Querier) error {
	for _, as := range g.assets {
		if as == g.coin {
			continue
		}
		v, err := queryJSON[struct{ Supply uint64 }](ctx, q, "/asset/"+as.symbol)
		if errors.Is(err, ErrNotFound) {
			return ErrNoSetup
		}
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		as.supply = v.Supply
	}
	r, err := queryJSON[struct {
		Amount uint64
		Time   int64
		Supply uint64
	}](ctx, q, "/reserves")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	g.reserve, g.lastAttest, g.coin.supply = r.Amount, r.Time, r.Supply
	return nil
}

// checkSeedUnused fails with ErrSeedUsed if the first client or scenario account this seed
// would open exists already.
func (g *Generator) checkSeedUnused(ctx context.Context, q Querier) error {
	for _, name := range []string{g.clientName(0), g.scenarioName(0)} {
		addr := ledger.AddressOf(ledger.PubKeyOf(ledger.DemoKey(g.cfg.DemoSeed, name)))
		_, err := q.Query(ctx, "/account/"+addr.String())
		if err == nil {
			return ErrSeedUsed
		}
		if !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("restore: %w", err)
		}
	}
	return nil
}

// HasSetup reports whether the chain already has the setup of this demo seed, by looking for
// its first client.
func (g *Generator) HasSetup(ctx context.Context, q Querier) (bool, error) {
	g.mu.Lock()
	addr := g.clean[0].addr
	g.mu.Unlock()
	_, err := q.Query(ctx, "/account/"+addr.String())
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("look for the setup: %w", err)
}

func queryJSON[T any](ctx context.Context, q Querier, path string) (T, error) {
	var v T
	b, err := q.Query(ctx, path)
	if err != nil {
		return v, fmt.Errorf("query %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("query %s: %w", path, err)
	}
	return v, nil
}

func (g *Generator) clientName(i int) string {
	return fmt.Sprintf("loadgen/%d/client/%d", g.cfg.Seed, i)
}

func (g *Generator) scenarioName(i int) string {
	return fmt.Sprintf("loadgen/%d/scn/%d", g.cfg.Seed, i)
}
