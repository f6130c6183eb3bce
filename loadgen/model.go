package loadgen

import (
	"crypto/ed25519"
	"math"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// accountRole says which traffic may use an account.
type accountRole uint8

const (
	roleClean     accountRole = iota // in the clean pool: steady traffic picks it
	roleMember                       // a member's operator
	roleRegulator                    // the regulator's key
	roleReserved                     // a multi-account owner kept for scenarios, idle until then
	roleScenario                     // taken by a scenario; clean traffic never touches it again
	roleDead                         // its registration was rejected: it does not exist
)

// account is the generator's model of one ledger account: what it holds, its nonce, and the
// bookkeeping that keeps clean traffic clear of the compliance rules.
type account struct {
	idx     int
	key     ed25519.PrivateKey
	pub     ledger.PubKey
	addr    ledger.Address
	owner   ledger.Hash
	kind    ledger.AccountKind
	sponsor string
	venues  []string
	role    accountRole
	member  string // operators: the member's id

	nonce      uint64
	usableAt   int64 // unix seconds: may sign or be a party from then on
	frozen     bool
	lastActive int64
	open       int // open gateway settlements naming it as seller or buyer

	// Per asset index: balance, the part locked for settlements, quantities on their way
	// in through open settlements, and the last time the asset moved in and out.
	bal, locked, inbound []uint64
	lastIn, lastOut      []int64
	holderPos            []int32 // position in Generator.holders, -1 if absent

	coin coinBook
	// payer says which side of coin flows the account is on: within the rapid-movement
	// window an account either pays or receives, and changes side only once its window is
	// empty, which keeps it clear of RAPID without starving either side.
	payer bool
	// resyncSeq is the generator sequence at the last nonce resynchronisation; rejections of
	// transactions generated before it are stale news.
	resyncSeq uint64

	// Causal bookkeeping (deps.go): the account's registration and last freeze or unfreeze,
	// which every transaction naming it needs; the recent credits of its holdings, which a
	// debit needs; the recent transactions naming it, which a freeze needs.
	reg, status *txRef
	credits     depList
	touched     depList
}

func (a *account) available(ai int) uint64 { return a.bal[ai] - a.locked[ai] }

func (a *account) hasVenue(v string) bool {
	for _, x := range a.venues {
		if x == v {
			return true
		}
	}
	return false
}

// lvThreshold is the large-value threshold of an account's kind, in fen.
func lvThreshold(kind ledger.AccountKind) uint64 {
	if kind == ledger.KindInstitution {
		return lvInstitution
	}
	return lvIndividual
}

// coinBook records an account's recent coin debits and credits, to keep clean traffic inside
// the large-value budget and clear of rapid in-and-out.
type coinBook struct {
	day         int64 // Shanghai day number that today counts
	today, yday uint64
	events      []coinEvent // within cleanRapidWindow, oldest first
	// maxEvents bounds events; 0 means maxCoinEvents. The bank, which takes every
	// redemption, keeps more.
	maxEvents int
	// blockedUntil stops all coin activity until then: accounts restored from a chain whose
	// recent coin history the generator does not know.
	blockedUntil int64
}

type coinEvent struct {
	at  int64
	amt int64 // positive credit, negative debit
}

// Bounds of the events kept per account: a busier account waits.
const (
	maxCoinEvents     = 24
	maxBankCoinEvents = 1024
)

// shanghaiDay numbers calendar days in Shanghai.
func shanghaiDay(unix int64) int64 { return floorDiv(unix+8*3600, 86400) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func (c *coinBook) roll(now int64) {
	switch d := shanghaiDay(now); {
	case d == c.day:
	case d == c.day+1:
		c.yday, c.today, c.day = c.today, 0, d
	default:
		c.yday, c.today, c.day = 0, 0, d
	}
	i := 0
	for i < len(c.events) && c.events[i].at < now-cleanRapidWindow {
		i++
	}
	if i > 0 {
		c.events = append(c.events[:0], c.events[i:]...)
	}
}

// lvRoom is how much more coin may move through the account today and stay within the clean
// large-value budget.
func (c *coinBook) lvRoom(now int64, kind ledger.AccountKind) uint64 {
	c.roll(now)
	limit := c.maxEvents
	if limit == 0 {
		limit = maxCoinEvents
	}
	if now < c.blockedUntil || len(c.events) >= limit {
		return 0
	}
	budget := lvThreshold(kind) * cleanLVPct / 100
	if used := c.today + c.yday; used < budget {
		return budget - used
	}
	return 0
}

// debitRoom is the largest debit that keeps the debits after every recent credit below
// cleanRapidPct of that credit.
func (c *coinBook) debitRoom(now int64) uint64 {
	c.roll(now)
	room := uint64(math.MaxInt64)
	var spent uint64 // debits after the event at i
	for i := len(c.events) - 1; i >= 0; i-- {
		e := c.events[i]
		if e.amt < 0 {
			spent += uint64(-e.amt)
			continue
		}
		allowed := uint64(e.amt) * cleanRapidPct / 100
		if spent >= allowed {
			return 0
		}
		room = min(room, allowed-spent-1)
	}
	return room
}

// creditOK reports whether a credit of amt keeps the recent debits below cleanRapidBeforePct
// of it.
func (c *coinBook) creditOK(now int64, amt uint64) bool {
	c.roll(now)
	var spent uint64
	for _, e := range c.events {
		if e.amt < 0 {
			spent += uint64(-e.amt)
		}
	}
	return spent*100 < amt*cleanRapidBeforePct
}

// idle reports whether no coin moved through the account within the window.
func (c *coinBook) idle(now int64) bool {
	c.roll(now)
	return len(c.events) == 0
}

func (c *coinBook) record(now int64, amt int64) {
	c.roll(now)
	c.events = append(c.events, coinEvent{at: now, amt: amt})
	if amt < 0 {
		c.today += uint64(-amt)
	} else {
		c.today += uint64(amt)
	}
}

// assetState is the generator's model of one asset.
type assetState struct {
	idx    int
	symbol string
	spec   *assetSpec // nil for the coin
	supply uint64
	// frozenSupply: no more is minted after the initial distribution, so that holding shares
	// only move when holdings move.
	frozenSupply bool
}

// holdCap is the most a clean owner may hold of the asset; MaxUint64 when no rule bounds it.
func (as *assetState) holdCap() uint64 {
	if as.spec == nil || !as.spec.security() {
		return math.MaxUint64
	}
	c := as.supply * cleanHoldBP / 10_000
	if as.spec.future() && as.spec.body.PositionLimit > 0 {
		c = min(c, as.spec.body.PositionLimit*cleanPosPct/100)
	}
	return c
}
