package memchain

import (
	"crypto/ed25519"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// TrafficConfig sizes signed traffic for a chain of ledger.DemoGenesis(Seed).
type TrafficConfig struct {
	// Seed derives the demo keys; the chain's genesis must use the same one.
	Seed string
	// ChainID is the chain the txs are signed for.
	ChainID string
	// Parties is how many accounts are registered and funded, at least 2.
	Parties int
	// Txs is how many load transactions follow the set-up.
	Txs int
	// FailEvery makes every FailEvery-th load tx one that fails in execution (a transfer of
	// more than the signer holds) yet passes CheckTx; 0 makes none fail.
	FailEvery int
}

// Traffic is signed load. Each phase of Setup must be committed before the next (accounts
// exist before they are funded), and all of it before Load; Load's txs of one signer must
// commit in order.
type Traffic struct {
	Setup [][][]byte
	Load  [][]byte
}

// Stocks are the securities the traffic issues and trades.
var Stocks = []string{"600001", "600002"}

// Amounts the set-up funds each party with: large enough that the load never runs dry.
const (
	partyCoin  = 1 << 40
	partyStock = 1 << 30
	bankFloat  = 1 << 40
)

// plan is one tx before signing: signing is the costly part and runs on every core.
type plan struct {
	body  ledger.Body
	nonce uint64
	keys  []ed25519.PrivateKey
}

// NewTraffic builds the traffic: parties registered by the two brokers with the exchange SZFE
// as their venue, two stocks issued, every party funded with coin and stock; then a mix of
// coin transfers, stock transfers, DvP trades settled by the venue, coin mints and burns, and
// the failing transfers FailEvery asks for. The mix is a fixed function of the tx's index, so
// the same config always gives the same bytes.
func NewTraffic(cfg TrafficConfig) (Traffic, error) {
	if cfg.Parties < 2 || cfg.Txs < 0 || cfg.FailEvery < 0 || cfg.ChainID == "" {
		return Traffic{}, fmt.Errorf("memchain traffic: want at least 2 parties, a chain id, and no negative sizes: %+v", cfg)
	}
	c := newCast(cfg.Seed, cfg.Parties)
	// The set-up is planned first: it takes the first nonces.
	setup := c.setup()
	load := make([]plan, cfg.Txs)
	for i := range load {
		load[i] = c.loadTx(i, cfg.FailEvery)
	}
	out := Traffic{Setup: make([][][]byte, len(setup))}
	for i, phase := range setup {
		out.Setup[i] = sign(cfg.ChainID, phase)
	}
	out.Load = sign(cfg.ChainID, load)
	return out, nil
}

// cast is whom the traffic's transactions are from, and the nonces each has used.
type cast struct {
	parties, brokers, issuers []ed25519.PrivateKey
	bank, venue               ed25519.PrivateKey
	nonces                    map[ledger.Address]uint64
}

func newCast(seed string, parties int) *cast {
	key := func(name string) ed25519.PrivateKey { return ledger.DemoKey(seed, name) }
	c := &cast{
		parties: make([]ed25519.PrivateKey, parties),
		brokers: []ed25519.PrivateKey{key("member/HTSC"), key("member/GTJA")},
		issuers: []ed25519.PrivateKey{key("member/PAFG"), key("member/CMCI")},
		bank:    key("member/BOCS"),
		venue:   key("member/SZFE"),
		nonces:  map[ledger.Address]uint64{},
	}
	for i := range c.parties {
		c.parties[i] = key(fmt.Sprintf("memchain/party/%d", i))
	}
	return c
}

func addr(k ed25519.PrivateKey) ledger.Address { return ledger.AddressOf(ledger.PubKeyOf(k)) }

// next plans body, signed by keys, with its first signer's next nonce.
func (c *cast) next(body ledger.Body, keys ...ed25519.PrivateKey) plan {
	a := addr(keys[0])
	c.nonces[a]++
	return plan{body: body, nonce: c.nonces[a], keys: keys}
}

// setup plans the set-up's two phases: the parties' registrations and the stocks' issues,
// then the coin and stock that fund the bank and every party.
func (c *cast) setup() [][]plan {
	setup := make([][]plan, 2)
	for i, p := range c.parties {
		setup[0] = append(setup[0], c.next(&ledger.RegisterAccount{
			PubKey: ledger.PubKeyOf(p), Kind: ledger.AccountKind(1 + i%2),
			OwnerRef: ledger.OwnerRef(fmt.Sprintf("memchain-owner-%d", i/2)), Venues: []string{"SZFE"},
		}, c.brokers[i%2]))
	}
	for i, sym := range Stocks {
		setup[0] = append(setup[0], c.next(&ledger.IssueAsset{
			Symbol: sym, Name: sym + " Co", Class: ledger.ClassSecurity, Kind: ledger.SecurityStock, Venue: "SZFE",
		}, c.issuers[i]))
	}
	setup[1] = append(setup[1], c.next(&ledger.Mint{Asset: ledger.CoinSymbol, To: addr(c.bank), Amount: bankFloat}, c.bank))
	for _, p := range c.parties {
		setup[1] = append(setup[1], c.next(&ledger.Mint{Asset: ledger.CoinSymbol, To: addr(p), Amount: partyCoin}, c.bank))
		for i, sym := range Stocks {
			setup[1] = append(setup[1], c.next(&ledger.Mint{Asset: sym, To: addr(p), Amount: partyStock}, c.issuers[i]))
		}
	}
	return setup
}

// loadTx plans the i-th load tx, which fails in execution if it is a failEvery-th one.
func (c *cast) loadTx(i, failEvery int) plan {
	n := len(c.parties)
	// A cheap mix of the index: consecutive txs touch different parties and kinds.
	x := uint64(i)*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
	x ^= x >> 29
	from := int(x % uint64(n))
	to := (from + 1 + int((x>>20)%uint64(n-1))) % n
	p, q := c.parties[from], c.parties[to]
	amt := 1 + (x>>40)%1000
	stock := Stocks[(x>>12)%uint64(len(Stocks))]
	if failEvery > 0 && i%failEvery == failEvery-1 {
		return c.next(&ledger.Transfer{To: addr(q), Asset: stock, Amount: partyStock << 8}, p)
	}
	switch k := (x >> 8) % 100; {
	case k < 50:
		return c.next(&ledger.Transfer{To: addr(q), Asset: ledger.CoinSymbol, Amount: amt * 100}, p)
	case k < 75:
		return c.next(&ledger.Transfer{To: addr(q), Asset: stock, Amount: amt}, p)
	case k < 98:
		return c.next(&ledger.SettleDvP{Venue: "SZFE", Seller: addr(p), Buyer: addr(q), Asset: stock,
			Quantity: amt, Cash: amt * 1000, TradeRef: fmt.Sprintf("T%d", i)}, c.venue)
	case k < 99:
		return c.next(&ledger.Mint{Asset: ledger.CoinSymbol, To: addr(p), Amount: amt * 100}, c.bank)
	default:
		return c.next(&ledger.Burn{Asset: ledger.CoinSymbol, Amount: amt}, c.bank)
	}
}

// sign signs the plans on every core.
func sign(chainID string, plans []plan) [][]byte {
	out := make([][]byte, len(plans))
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(plans); i += workers {
				p := plans[i]
				out[i] = (&ledger.Tx{ChainID: chainID, Nonce: p.nonce, Body: p.body}).Sign(p.keys...)
			}
		}()
	}
	wg.Wait()
	return out
}

// Run commits the traffic's set-up and then its load in blocks of at most perBlock txs, one
// block every step of block time from start, and returns how many load txs failed.
func (c *Chain) Run(tr Traffic, perBlock int, start time.Time, step time.Duration) (failed int, err error) {
	if perBlock < 1 {
		return 0, fmt.Errorf("memchain: %d txs per block", perBlock)
	}
	at := start
	for i, phase := range tr.Setup {
		for lo := 0; lo < len(phase); lo += perBlock {
			at = at.Add(step)
			b, err := c.Next(at, phase[lo:min(lo+perBlock, len(phase))])
			if err != nil {
				return 0, err
			}
			for _, r := range b.TxResults {
				if r.Code != 0 {
					return 0, fmt.Errorf("memchain: set-up phase %d tx failed: code %d %s", i, r.Code, r.Log)
				}
			}
		}
	}
	for lo := 0; lo < len(tr.Load); lo += perBlock {
		at = at.Add(step)
		b, err := c.Next(at, tr.Load[lo:min(lo+perBlock, len(tr.Load))])
		if err != nil {
			return failed, err
		}
		for _, r := range b.TxResults {
			if r.Code != 0 {
				failed++
			}
		}
	}
	return failed, nil
}
