package ledgersync

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/ledgersync/memchain"
	"github.com/ledgerscope/ledgerscope/node"
	"github.com/ledgerscope/ledgerscope/store"
)

const (
	testChainID = "ledgerscope-sync-test"
	keySeed     = "sync-test"
)

// The chain starts the day before a month ends, so blocks an hour apart cross a month
// (a new partition) and several market days.
var genesisTime = time.Date(2026, 10, 30, 12, 0, 0, 0, time.UTC)

// testChain generates random transactions, executes them with memchain (which serves the
// blocks as a BlockSource), and keeps every block's holdings, to check holdings at past
// heights.
type testChain struct {
	*memchain.Chain
	t   testing.TB
	rng *rand.Rand

	holding []map[ledger.BalanceKey]ledger.Balance // holding[h], after block h

	now     time.Time
	nonces  map[ledger.Address]uint64
	parties []ed25519.PrivateKey
	assets  []string
	settles []ledger.Hash
}

var _ node.BlockSource = (*testChain)(nil)

func demoGenesis() *ledger.GenesisState { return ledger.DemoGenesis(keySeed) }

func key(name string) ed25519.PrivateKey { return ledger.DemoKey(keySeed, name) }
func member(id string) ed25519.PrivateKey {
	return key("member/" + id)
}
func addrOf(k ed25519.PrivateKey) ledger.Address { return ledger.AddressOf(ledger.PubKeyOf(k)) }

// newTestChain starts a chain whose random transactions come from seed. Chains with different
// seeds share genesis and the set-up blocks, then fork.
func newTestChain(t testing.TB, seed uint64) *testChain {
	t.Helper()
	mc, err := memchain.New(memchain.Config{
		Dir: t.TempDir(), ChainID: testChainID, Genesis: demoGenesis(), GenesisTime: genesisTime, VerifyWorkers: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mc.Close() })
	c := &testChain{
		Chain: mc, t: t, rng: rand.New(rand.NewPCG(seed, 7)),
		now: genesisTime, nonces: map[ledger.Address]uint64{},
		holding: []map[ledger.BalanceKey]ledger.Balance{{}},
	}
	c.setup()
	return c
}

func testGenesis(t testing.TB) store.Genesis {
	t.Helper()
	g, err := GenesisRows(testChainID, genesisTime, demoGenesis())
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func (c *testChain) sign(body ledger.Body, keys ...ed25519.PrivateKey) []byte {
	signer := addrOf(keys[0])
	c.nonces[signer]++
	tx := &ledger.Tx{ChainID: testChainID, Nonce: c.nonces[signer], Body: body, Memo: fmt.Sprintf("n%d", c.nonces[signer])}
	return tx.Sign(keys...)
}

// setup registers parties and issues and distributes assets.
func (c *testChain) setup() {
	var txs [][]byte
	for i := range 16 {
		k := key(fmt.Sprintf("party/%d", i))
		c.parties = append(c.parties, k)
		sponsor := []string{"HTSC", "GTJA"}[i%2]
		txs = append(txs, c.sign(&ledger.RegisterAccount{
			PubKey: ledger.PubKeyOf(k), Kind: ledger.AccountKind(1 + i%2),
			OwnerRef: sha256.Sum256([]byte(fmt.Sprint("owner", i%5))), Venues: []string{"SZFE"},
		}, member(sponsor)))
	}
	for i, sym := range []string{"600001", "600002", "RB2611"} {
		issuer := []string{"PAFG", "CMCI", "CMWH"}[i]
		c.assets = append(c.assets, sym)
		body := &ledger.IssueAsset{Symbol: sym, Name: sym + " Co", Class: ledger.ClassSecurity, Kind: ledger.SecurityStock, Venue: "SZFE"}
		if issuer == "CMWH" {
			body = &ledger.IssueAsset{Symbol: sym, Name: "Rebar receipt", Class: ledger.ClassCommodity, Commodity: "rebar", Grade: "HRB400", Warehouse: "CMWH", Unit: "tonne"}
		}
		txs = append(txs, c.sign(body, member(issuer)))
	}
	c.Next(time.Hour, txs...)
	txs = nil
	for _, p := range c.parties {
		txs = append(txs, c.sign(&ledger.Mint{Asset: ledger.CoinSymbol, To: addrOf(p), Amount: 10_000_000}, member("BOCS")))
		for i, sym := range c.assets {
			txs = append(txs, c.sign(&ledger.Mint{Asset: sym, To: addrOf(p), Amount: 50_000}, member([]string{"PAFG", "CMCI", "CMWH"}[i])))
		}
	}
	c.Next(time.Hour, txs...)
}

// randomTx is a random transaction, mostly valid, some failing.
func (c *testChain) randomTx() []byte {
	r := c.rng
	i := r.IntN(len(c.parties))
	p, q := c.parties[i], c.parties[(i+1+r.IntN(len(c.parties)-1))%len(c.parties)]
	asset := c.assets[r.IntN(len(c.assets))]
	amt := uint64(r.IntN(2000) + 1)
	switch r.IntN(16) {
	case 0, 1, 2:
		return c.sign(&ledger.Transfer{To: addrOf(q), Asset: ledger.CoinSymbol, Amount: amt * 100}, p)
	case 3, 4, 5:
		return c.sign(&ledger.Transfer{To: addrOf(q), Asset: asset, Amount: amt}, p)
	case 6, 7:
		return c.sign(&ledger.SettleDvP{Venue: "SZFE", Seller: addrOf(p), Buyer: addrOf(q), Asset: asset, Quantity: amt, Cash: amt * 1000, TradeRef: "T"}, p, q)
	case 8:
		return c.sign(&ledger.SettleDvP{Venue: "SZFE", Seller: addrOf(p), Buyer: addrOf(q), Asset: "600001", Quantity: amt, Cash: amt * 900}, member("SZFE"))
	case 9:
		raw := c.sign(&ledger.LockForSettlement{Buyer: addrOf(q), Asset: asset, Quantity: amt, Gateway: "UPGW", FiatAmount: amt * 500,
			Deadline: c.now.Unix() + int64(1+r.IntN(4))*3600, Ref: "G"}, p)
		c.settles = append(c.settles, ledger.TxHash(raw))
		return raw
	case 10:
		if len(c.settles) == 0 {
			return []byte("not a transaction")
		}
		id := c.settles[r.IntN(len(c.settles))]
		if r.IntN(3) > 0 {
			return c.sign(&ledger.ConfirmPayment{Settlement: id, PaymentRef: "P"}, member("UPGW"))
		}
		return c.sign(&ledger.FailSettlement{Settlement: id, Reason: "no funds"}, member("UPGW"))
	case 11:
		return c.sign(&ledger.Transfer{To: addrOf(q), Asset: asset, Amount: 1 << 40}, p) // fails: too much
	case 12:
		if r.IntN(2) == 0 {
			return c.sign(&ledger.Freeze{Account: addrOf(p), Reason: "inquiry"}, key("regulator"))
		}
		return c.sign(&ledger.Unfreeze{Account: addrOf(p)}, key("regulator"))
	case 13:
		if r.IntN(2) == 0 {
			return c.sign(&ledger.Mint{Asset: ledger.CoinSymbol, To: addrOf(p), Amount: amt * 100}, member("BOCS"))
		}
		return c.sign(&ledger.AttestReserves{Amount: uint64(r.IntN(1 << 40)), AsOf: c.now.Unix() - 86400, Report: sha256.Sum256([]byte{byte(i)})}, member("BOCS"))
	case 14:
		return c.sign(&ledger.Burn{Asset: ledger.CoinSymbol, Amount: amt}, member("BOCS"))
	default:
		return []byte{1, 2, 3} // malformed
	}
}

// Run adds n blocks of up to perBlock random transactions.
func (c *testChain) Run(n, perBlock int) {
	for range n {
		k := c.rng.IntN(perBlock + 1)
		txs := make([][]byte, k)
		for i := range txs {
			txs[i] = c.randomTx()
		}
		c.Next(time.Hour, txs...)
	}
}

// Next executes and commits one block.
// Next executes a block of txs step after the previous one and records the holdings after it.
func (c *testChain) Next(step time.Duration, txs ...[]byte) {
	c.t.Helper()
	c.now = c.now.Add(step)
	if _, err := c.Chain.Next(c.now, txs); err != nil {
		c.t.Fatal(err)
	}
	snap := map[ledger.BalanceKey]ledger.Balance{}
	c.App().View(func(st *ledger.State) {
		for k, v := range st.Balances {
			snap[k] = v
		}
	})
	c.holding = append(c.holding, snap)
}

// blocks returns every block of the chain, in height order.
func (c *testChain) blocks() []*node.CommittedBlock {
	c.t.Helper()
	out := make([]*node.CommittedBlock, 0, c.Height())
	for h := int64(1); h <= c.Height(); h++ {
		b, err := c.Block(context.Background(), h)
		if err != nil {
			c.t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}
