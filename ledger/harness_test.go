package ledger

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
)

const testChainID = "ledgerscope-test"
const testSeed = "test"

var genesisTime = time.Date(2026, 11, 2, 1, 30, 0, 0, time.UTC)

// chain drives an App block by block, as CometBFT would, and keeps the signers' nonces.
type chain struct {
	t      testing.TB
	app    *App
	dir    string
	height int64
	time   time.Time
	nonces map[Address]uint64
	// history keeps every block fed, so that a second app can be fed the same ones.
	history map[int64]histBlock
}

type histBlock struct {
	time time.Time
	txs  [][]byte
}

func newChain(t testing.TB) *chain {
	t.Helper()
	dir := t.TempDir()
	app, err := NewApp(Config{Dir: dir, CheckInvariants: true})
	if err != nil {
		t.Fatal(err)
	}
	c := &chain{t: t, app: app, dir: dir, time: genesisTime, nonces: map[Address]uint64{}, history: map[int64]histBlock{}}
	t.Cleanup(func() { c.app.Close() })
	c.initChain(app)
	return c
}

func (c *chain) initChain(app *App) []byte {
	c.t.Helper()
	g := DemoGenesis(testSeed)
	b := mustJSON(c.t, g)
	resp, err := app.InitChain(context.Background(), &abci.InitChainRequest{
		ChainId: testChainID, AppStateBytes: b, InitialHeight: 1, Time: genesisTime,
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.AppHash
}

func key(name string) ed25519.PrivateKey { return DemoKey(testSeed, name) }
func addr(name string) Address           { return AddressOf(PubKeyOf(key(name))) }
func member(id string) ed25519.PrivateKey {
	return key("member/" + id)
}

// sign builds a signed tx from the first key, with its next nonce, co-signed by the rest.
func (c *chain) sign(body Body, keys ...ed25519.PrivateKey) []byte {
	signer := AddressOf(PubKeyOf(keys[0]))
	c.nonces[signer]++
	tx := &Tx{ChainID: testChainID, Nonce: c.nonces[signer], Body: body}
	return tx.Sign(keys...)
}

// block finalizes and commits one block, advancing time by step.
func (c *chain) blockAt(step time.Duration, txs ...[]byte) *abci.FinalizeBlockResponse {
	c.t.Helper()
	c.height++
	c.time = c.time.Add(step)
	c.history[c.height] = histBlock{c.time, txs}
	resp, err := c.app.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{Height: c.height, Time: c.time, Txs: txs})
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.app.Commit(context.Background(), &abci.CommitRequest{}); err != nil {
		c.t.Fatal(err)
	}
	return resp
}

func (c *chain) block(txs ...[]byte) *abci.FinalizeBlockResponse {
	return c.blockAt(time.Second, txs...)
}

// exec runs one tx in its own block and returns its result.
func (c *chain) exec(tx []byte) *abci.ExecTxResult {
	c.t.Helper()
	return c.block(tx).TxResults[0]
}

// must runs a tx that has to succeed.
func (c *chain) must(body Body, keys ...ed25519.PrivateKey) *abci.ExecTxResult {
	c.t.Helper()
	r := c.exec(c.sign(body, keys...))
	if r.Code != 0 {
		c.t.Fatalf("%T: code %d (%s): %s", body, r.Code, Code(r.Code), r.Log)
	}
	return r
}

func (c *chain) balance(a Address, asset string) Balance {
	var b Balance
	c.app.View(func(st *State) { b = st.Balance(a, asset) })
	return b
}

// party registers an account for a named key, sponsored by a broker, and returns its key.
func (c *chain) party(name, owner string, venues ...string) ed25519.PrivateKey {
	c.t.Helper()
	k := key(name)
	c.must(&RegisterAccount{PubKey: PubKeyOf(k), Kind: KindIndividual, OwnerRef: ownerRef(owner), Venues: venues}, member("HTSC"))
	return k
}

func ownerRef(owner string) Hash { return sha256.Sum256([]byte("owner:" + owner)) }

// fund mints coin to an account.
func (c *chain) fund(to Address, amount uint64) {
	c.t.Helper()
	c.must(&Mint{Asset: CoinSymbol, To: to, Amount: amount}, member("BOCS"))
}

// stock issues a stock listed at SZFE and mints it to an account.
func (c *chain) stock(sym string, to Address, amount uint64) {
	c.t.Helper()
	c.must(&IssueAsset{Symbol: sym, Name: sym + " Co", Class: ClassSecurity, Kind: SecurityStock, Venue: "SZFE"}, member("PAFG"))
	c.must(&Mint{Asset: sym, To: to, Amount: amount}, member("PAFG"))
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
