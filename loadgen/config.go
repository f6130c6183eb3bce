package loadgen

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// Config configures a Generator. The zero value of every field but ChainID has a default.
type Config struct {
	// ChainID is the chain the transactions are signed for.
	ChainID string
	// DemoSeed derives the demo keys (ledger.DemoKey) of the members, the regulator and the
	// generator's own accounts. The devnet uses "devnet".
	DemoSeed string
	// Seed drives every choice of the steady traffic and names the accounts opened after the
	// setup phase, so two runs against one chain need two seeds.
	Seed uint64
	// Clock is read for block-time decisions: deadlines, windows, sessions, activation of new
	// accounts. Nil means a SimClock at DefaultStart.
	Clock Clock
	// Population is how many clean accounts the setup phase opens (default 600).
	Population int
	// MaxAccounts bounds the accounts the generator keeps in its model, setup and scenarios
	// included (default 50,000, about 1.3 KB each); past it no more clients are onboarded.
	MaxAccounts int
	// Violations is the share of steady-traffic transactions that start a violation scenario
	// (0 for clean traffic, 0.002 for one scenario in 500 transactions). At most 1.
	Violations float64
	// Scenarios restricts the scenarios injected; empty means all of Scenarios().
	Scenarios []string
	// Session says whether a venue is in session; DvP trades happen only then. Nil means
	// ExchangeSessions.
	Session SessionFunc
	// ActivationDelay is how long after its registration an account may sign or be a party:
	// a signer must be in committed state before CheckTx admits its transactions (default 3s).
	ActivationDelay time.Duration
	// MaxScenarios bounds how many scenarios are in progress at once (default 32).
	MaxScenarios int
}

// Defaults of Config.
const (
	DefaultPopulation      = 600
	DefaultMaxAccounts     = 50_000
	DefaultActivationDelay = 3 * time.Second
	DefaultMaxScenarios    = 32
	maxPopulation          = 50_000
)

// DefaultStart is where a SimClock starts unless told otherwise: a Monday morning as the
// securities venues open, so that a simulated run sees a trading day.
var DefaultStart = time.Date(2026, 11, 2, 9, 30, 0, 0, Shanghai)

// Shanghai is China Standard Time (UTC+8, no daylight saving), the zone of trading sessions
// and of the calendar days of the large-value rules.
var Shanghai = time.FixedZone("CST", 8*3600)

func (c *Config) withDefaults() (Config, error) {
	out := *c
	if out.ChainID == "" || len(out.ChainID) > ledger.MaxChainID {
		return out, fmt.Errorf("loadgen config: chain id %q: 1 to %d bytes", out.ChainID, ledger.MaxChainID)
	}
	if out.DemoSeed == "" {
		return out, errors.New("loadgen config: demo seed is empty")
	}
	if out.Clock == nil {
		out.Clock = NewSimClock(DefaultStart)
	}
	if out.Population == 0 {
		out.Population = DefaultPopulation
	}
	if out.Population < 120 || out.Population > maxPopulation {
		// Fewer than about a hundred holders per security cannot keep every clean owner far
		// below 5% of its supply.
		return out, fmt.Errorf("loadgen config: population %d: want 120 to %d", out.Population, maxPopulation)
	}
	if out.MaxAccounts == 0 {
		out.MaxAccounts = DefaultMaxAccounts
	}
	if out.MaxAccounts < out.Population+200 {
		return out, fmt.Errorf("loadgen config: max accounts %d: want at least population+200", out.MaxAccounts)
	}
	if out.Violations < 0 || out.Violations > 1 {
		return out, fmt.Errorf("loadgen config: violations %v: want 0 to 1", out.Violations)
	}
	for _, s := range out.Scenarios {
		if !validScenario(s) {
			return out, fmt.Errorf("loadgen config: unknown scenario %q", s)
		}
	}
	if out.Session == nil {
		out.Session = ExchangeSessions
	}
	if out.ActivationDelay == 0 {
		out.ActivationDelay = DefaultActivationDelay
	}
	if out.ActivationDelay < 0 || out.ActivationDelay > time.Hour {
		return out, fmt.Errorf("loadgen config: activation delay %v: want 0 to 1h", out.ActivationDelay)
	}
	if out.MaxScenarios == 0 {
		out.MaxScenarios = DefaultMaxScenarios
	}
	return out, nil
}

// Clock tells the generator the time, which it takes for the time of the next block.
type Clock interface {
	Now() time.Time
}

// WallClock is the machine's clock, for traffic submitted to a live node.
type WallClock struct{}

// Now is time.Now.
func (WallClock) Now() time.Time { return time.Now() }

// SimClock is a clock that moves only when told, for driving an application block by block.
// It is safe for concurrent use.
type SimClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewSimClock returns a clock standing at t.
func NewSimClock(t time.Time) *SimClock { return &SimClock{t: t} }

// Now returns the clock's time.
func (c *SimClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *SimClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Advance moves the clock forward by d.
func (c *SimClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// SessionFunc reports whether a venue is in its trading session at a time.
type SessionFunc func(venue string, t time.Time) bool

// AlwaysOpen treats every venue as in session around the clock.
func AlwaysOpen(string, time.Time) bool { return true }

// sessionRange is a half-open interval of minutes after midnight, Shanghai time.
type sessionRange struct{ from, to int }

var (
	// Mainland securities hours: the morning and afternoon continuous auctions.
	securitiesHours = []sessionRange{{9*60 + 30, 11*60 + 30}, {13 * 60, 15 * 60}}
	// Commodity exchange hours: the day session with its mid-morning break, and a night session.
	commodityHours = []sessionRange{{9 * 60, 10*60 + 15}, {10*60 + 30, 11*60 + 30}, {13*60 + 30, 15 * 60}, {21 * 60, 23 * 60}}
)

// ExchangeSessions is the session calendar the generator assumes for the demo venues, and the
// one the SESSION rule's venue parameters must match for clean traffic to stay clean: SZFE
// keeps securities hours (09:30-11:30, 13:00-15:00), the commodity exchanges TJCE, SHCX and
// CQCE keep commodity hours (09:00-10:15, 10:30-11:30, 13:30-15:00, 21:00-23:00), Monday to
// Friday, Asia/Shanghai. Public holidays are not modelled. Unknown venues are never open.
func ExchangeSessions(venue string, t time.Time) bool {
	var hours []sessionRange
	switch venue {
	case "SZFE":
		hours = securitiesHours
	case "TJCE", "SHCX", "CQCE":
		hours = commodityHours
	default:
		return false
	}
	lt := t.In(Shanghai)
	if wd := lt.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	m := lt.Hour()*60 + lt.Minute()
	for _, r := range hours {
		if m >= r.from && m < r.to {
			return true
		}
	}
	return false
}
