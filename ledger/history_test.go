package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
)

// query runs an ABCI query at a height and decodes the JSON answer.
func (c *chain) query(t *testing.T, path string, height int64, out any) uint32 {
	t.Helper()
	resp, err := c.app.Query(context.Background(), &abci.QueryRequest{Path: path, Height: height})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code == 0 {
		if err := json.Unmarshal(resp.Value, out); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	return resp.Code
}

type stateView struct {
	Balances []BalanceEntry
	Assets   []*Asset
	Stats    Stats
	Account  AccountView
}

func (c *chain) view(t *testing.T, height int64, probe Address) stateView {
	t.Helper()
	var v stateView
	for _, q := range []struct {
		path string
		out  any
	}{
		{"/balances/100000", &v.Balances}, {"/assets", &v.Assets}, {"/stats", &v.Stats},
		{"/account/" + probe.String(), &v.Account},
	} {
		if code := c.query(t, q.path, height, q.out); code != 0 {
			t.Fatalf("%s at %d: code %d", q.path, height, code)
		}
	}
	// The mempool's next nonce belongs to the present only.
	v.Account.NextNonce = 0
	return v
}

// TestQueriesAtPastHeights records the state after every block of a random simulation and
// checks that, at the end, queries at each past height answer exactly what they did then.
func TestQueriesAtPastHeights(t *testing.T) {
	c := newChain(t)
	s := newSimulator(c, 7)
	s.setup()
	probe := AddressOf(PubKeyOf(s.parties[0]))
	seen := map[int64]stateView{c.height: c.view(t, 0, probe)}
	for range 25 {
		txs := make([][]byte, 100)
		for i := range txs {
			txs[i] = s.tx()
		}
		c.blockAt(2*time.Second, txs...)
		seen[c.height] = c.view(t, 0, probe)
	}
	for h, want := range seen {
		if got := c.view(t, h, probe); !reflect.DeepEqual(got, want) {
			t.Fatalf("at height %d the state read back differs", h)
		}
	}
	var page []BalanceEntry
	if code := c.query(t, "/balances/3", 0, &page); code != 0 || len(page) != 3 {
		t.Fatalf("page of 3: code %d, %d entries", code, len(page))
	}
	var next []BalanceEntry
	c.query(t, fmt.Sprintf("/balances/3/%s/%s", page[2].Account, page[2].Asset), 0, &next)
	if len(next) == 0 || !(next[0].Account.String()+next[0].Asset > page[2].Account.String()+page[2].Asset) {
		t.Fatalf("next page does not follow: %+v after %+v", next, page[2])
	}
	if code := c.query(t, "/stats", c.height+1, &struct{}{}); code != QueryBadHeight {
		t.Fatalf("future height: code %d", code)
	}
}

// TestHistoryIsPruned keeps three heights: older queries are refused with a clear message.
func TestHistoryIsPruned(t *testing.T) {
	defer func(p int64) { pruneEvery = p }(pruneEvery)
	pruneEvery = 4
	c := newChain(t)
	c.app.cfg.HistoryBlocks = 3
	c.party("alice", "A")
	for range 10 {
		c.fund(addr("alice"), 1)
	}
	var st Stats
	if code := c.query(t, "/stats", c.height-2, &st); code != 0 {
		t.Fatalf("recent height refused: %d", code)
	}
	resp, _ := c.app.Query(context.Background(), &abci.QueryRequest{Path: "/stats", Height: 1})
	if resp.Code != QueryBadHeight || !strings.Contains(resp.Log, "not kept") {
		t.Fatalf("pruned height: code %d %q", resp.Code, resp.Log)
	}
}
