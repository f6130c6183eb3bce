package ledger

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	abci "github.com/cometbft/cometbft/abci/types"
)

var simSeed = flag.Uint64("sim.seed", 0, "replay one simulation seed")

// simulator generates random valid and invalid transactions from a seed.
type simulator struct {
	rng      *rand.Rand
	c        *chain
	parties  []ed25519.PrivateKey
	assets   []string
	settles  []Hash
	issuerOf map[string]string
}

func newSimulator(c *chain, seed uint64) *simulator {
	return &simulator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), c: c, issuerOf: map[string]string{CoinSymbol: "BOCS"}}
}

func (s *simulator) amount() uint64 {
	if s.rng.IntN(20) == 0 {
		return s.rng.Uint64() // mostly out of range: overflow and invalid-field paths
	}
	return uint64(s.rng.IntN(5_000) + 1)
}

// setup registers parties and issues assets in the first blocks.
func (s *simulator) setup() {
	var txs [][]byte
	for i := range 24 {
		k := key(fmt.Sprintf("sim/%d", i))
		s.parties = append(s.parties, k)
		txs = append(txs, s.c.sign(&RegisterAccount{PubKey: PubKeyOf(k), Kind: AccountKind(1 + i%2), OwnerRef: ownerRef(fmt.Sprint(i % 9)), Venues: []string{"SZFE"}}, member("HTSC")))
	}
	for i, sym := range []string{"600001", "600002", "000001"} {
		issuer := []string{"PAFG", "CMCI", "PAFG"}[i]
		s.assets = append(s.assets, sym)
		s.issuerOf[sym] = issuer
		txs = append(txs, s.c.sign(&IssueAsset{Symbol: sym, Name: sym, Class: ClassSecurity, Kind: SecurityStock, Venue: "SZFE"}, member(issuer)))
	}
	s.c.block(txs...)
	txs = nil
	for _, p := range s.parties {
		to := AddressOf(PubKeyOf(p))
		txs = append(txs, s.c.sign(&Mint{Asset: CoinSymbol, To: to, Amount: 1_000_000}, member("BOCS")))
		for _, sym := range s.assets {
			txs = append(txs, s.c.sign(&Mint{Asset: sym, To: to, Amount: 10_000}, member(s.issuerOf[sym])))
		}
	}
	s.c.block(txs...)
}

// tx returns one random transaction, valid or not.
func (s *simulator) tx() []byte {
	i := s.rng.IntN(len(s.parties))
	p, q := s.parties[i], s.parties[(i+1+s.rng.IntN(len(s.parties)-1))%len(s.parties)]
	pa, qa := AddressOf(PubKeyOf(p)), AddressOf(PubKeyOf(q))
	asset := s.assets[s.rng.IntN(len(s.assets))]
	switch s.rng.IntN(14) {
	case 0:
		return s.c.sign(&Transfer{To: qa, Asset: CoinSymbol, Amount: s.amount()}, p)
	case 1, 2:
		return s.c.sign(&Transfer{To: qa, Asset: asset, Amount: s.amount()}, p)
	case 3, 4:
		return s.c.sign(&SettleDvP{Venue: "SZFE", Seller: pa, Buyer: qa, Asset: asset, Quantity: s.amount(), Cash: s.amount()}, p, q)
	case 5:
		return s.c.sign(&SettleDvP{Venue: "SZFE", Seller: pa, Buyer: qa, Asset: asset, Quantity: s.amount(), Cash: s.amount()}, member("SZFE"))
	case 6:
		raw := s.c.sign(&LockForSettlement{Buyer: qa, Asset: asset, Quantity: s.amount(), Gateway: "UPGW", FiatAmount: 1, Deadline: s.c.time.Unix() + int64(s.rng.IntN(8))}, p)
		s.settles = append(s.settles, TxHash(raw))
		return raw
	case 7:
		if len(s.settles) == 0 {
			return []byte("not a tx")
		}
		id := s.settles[s.rng.IntN(len(s.settles))]
		if s.rng.IntN(2) == 0 {
			return s.c.sign(&ConfirmPayment{Settlement: id}, member("UPGW"))
		}
		return s.c.sign(&FailSettlement{Settlement: id}, member("UPGW"))
	case 8:
		return s.c.sign(&Mint{Asset: asset, To: pa, Amount: s.amount()}, member(s.issuerOf[asset]))
	case 9:
		return s.c.sign(&Burn{Asset: CoinSymbol, Amount: s.amount()}, member("BOCS"))
	case 10:
		if s.rng.IntN(2) == 0 {
			return s.c.sign(&Freeze{Account: pa}, key("regulator"))
		}
		return s.c.sign(&Unfreeze{Account: pa}, key("regulator"))
	case 11:
		raw := s.c.sign(&Transfer{To: qa, Asset: CoinSymbol, Amount: 1}, p)
		raw[len(raw)-1-s.rng.IntN(64)] ^= 1 << s.rng.IntN(8) // bad signature: nonce not spent
		s.c.nonces[pa]--
		return raw
	case 12:
		tx := &Tx{ChainID: testChainID, Nonce: s.c.nonces[pa] + 5, Body: &Transfer{To: qa, Asset: CoinSymbol, Amount: 1}}
		return tx.Sign(p) // nonce gap
	default:
		raw := s.c.sign(&Transfer{To: qa, Asset: asset, Amount: 1}, p)
		cut := append([]byte(nil), raw[:s.rng.IntN(len(raw))]...)
		s.c.nonces[pa]--
		return cut
	}
}

// TestSimulation runs random blocks through two apps and checks, after every block, that they
// agree on the app hash and that the invariants hold (CheckInvariants fails Commit otherwise).
func TestSimulation(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	if *simSeed != 0 {
		seeds = []uint64{*simSeed}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			c := newChain(t)
			twin, err := NewApp(Config{Dir: t.TempDir(), CheckInvariants: true, VerifyWorkers: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer twin.Close()
			if !bytes.Equal(c.initChain(twin), c.app.AppHash()) {
				t.Fatal("genesis app hashes differ")
			}
			s := newSimulator(c, seed)
			s.setup()
			replay(t, c, twin, 1, c.height)
			failures := map[Code]int{}
			for range 60 {
				n := s.rng.IntN(200)
				txs := make([][]byte, n)
				for i := range txs {
					txs[i] = s.tx()
				}
				resp := c.blockAt(time.Duration(1+s.rng.IntN(3))*time.Second, txs...)
				for _, r := range resp.TxResults {
					failures[Code(r.Code)]++
				}
				twinResp := feed(t, twin, c.height, c.time, txs)
				if !bytes.Equal(resp.AppHash, twinResp.AppHash) {
					t.Fatalf("seed %d height %d: app hashes differ (replay with -sim.seed=%d)", seed, c.height, seed)
				}
			}
			t.Logf("seed %d: %d blocks, results by code %v", seed, c.height, failures)
			if failures[CodeOK] == 0 || len(failures) < 6 {
				t.Fatalf("simulation too narrow: %v", failures)
			}
		})
	}
}

// replay feeds a twin the blocks it missed; the chain keeps none, so the simulation setup is
// repeated through the twin by re-running the same transactions.
func replay(t *testing.T, c *chain, twin *App, from, to int64) {
	t.Helper()
	for h := from; h <= to; h++ {
		blk := c.history[h]
		feed(t, twin, h, blk.time, blk.txs)
	}
}

func feed(t *testing.T, app *App, height int64, at time.Time, txs [][]byte) *abci.FinalizeBlockResponse {
	t.Helper()
	resp, err := app.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{Height: height, Time: at, Txs: txs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Commit(context.Background(), &abci.CommitRequest{}); err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestRestartKeepsState closes and reopens the app: the state and app hash survive, and a
// finalized but uncommitted block is simply executed again.
func TestRestartKeepsState(t *testing.T) {
	c := newChain(t)
	alice := c.party("alice", "A")
	c.fund(addr("alice"), 500)
	c.must(&Transfer{To: addr("member/HTSC"), Asset: CoinSymbol, Amount: 5}, alice)
	want := c.app.AppHash()

	// A block finalized but never committed, as when the process dies before Commit.
	_, err := c.app.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{Height: c.height + 1, Time: c.time.Add(time.Second), Txs: [][]byte{c.sign(&Transfer{To: addr("member/HTSC"), Asset: CoinSymbol, Amount: 7}, alice)}})
	if err != nil {
		t.Fatal(err)
	}
	c.nonces[addr("alice")]--
	c.app.Close()

	app, err := NewApp(Config{Dir: c.dir, CheckInvariants: true})
	if err != nil {
		t.Fatal(err)
	}
	c.app = app
	info, _ := app.Info(context.Background(), &abci.InfoRequest{})
	if info.LastBlockHeight != c.height || !bytes.Equal(info.LastBlockAppHash, want) {
		t.Fatalf("after restart at %d %X, want %d %X", info.LastBlockHeight, info.LastBlockAppHash, c.height, want)
	}
	c.must(&Transfer{To: addr("member/HTSC"), Asset: CoinSymbol, Amount: 7}, alice)
	if got := c.balance(addr("alice"), CoinSymbol).Amount; got != 488 {
		t.Fatalf("alice has %d, want 488", got)
	}
}

// TestTamperedStateDetected alters a balance on disk behind the app's back: the next start
// refuses the state.
func TestTamperedStateDetected(t *testing.T) {
	c := newChain(t)
	c.party("alice", "A")
	c.fund(addr("alice"), 500)
	c.app.Close()

	db, err := pebble.Open(c.dir, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	forged := Balance{Amount: 5_000_000}
	if err := db.Set(keyBalance(BalanceKey{addr("alice"), CoinSymbol}), encodeRecord(&forged), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	db.Close()

	_, err = NewApp(Config{Dir: c.dir})
	if !errors.Is(err, ErrStateCorrupt) {
		t.Fatalf("NewApp on tampered state: %v, want ErrStateCorrupt", err)
	}
}
