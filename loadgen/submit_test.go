package loadgen

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/mempool"
)

// fakeRPC answers broadcast_tx_sync batches the way CometBFT does, with a batch size limit.
type fakeRPC struct {
	mu       sync.Mutex
	limit    int
	batches  []int
	answerOf func(tx string) string // the JSON of one answer's result or error member
}

func (f *fakeRPC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var reqs []struct {
		ID     int64 `json:"id"`
		Method string
		Params struct{ Tx string }
	}
	if err := json.Unmarshal(body, &reqs); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(reqs) > f.limit {
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":-1,"error":{"code":-32600,"message":"Invalid Request","data":"batch request exceeds maximum (%d) allowed number of requests"}}`, f.limit)
		return
	}
	f.batches = append(f.batches, len(reqs))
	var parts []string
	for _, q := range reqs {
		raw, _ := base64.StdEncoding.DecodeString(q.Params.Tx)
		parts = append(parts, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,%s}`, q.ID, f.answerOf(string(raw))))
	}
	fmt.Fprintf(w, "[%s]", strings.Join(parts, ","))
}

func TestRPCSubmitBatches(t *testing.T) {
	fake := &fakeRPC{limit: 10, answerOf: func(tx string) string {
		switch tx {
		case "full":
			return `"error":{"code":-32603,"message":"Internal error","data":"mempool is full: number of txs 5000 (max: 5000)"}`
		case "dup":
			return `"error":{"code":-32603,"message":"Internal error","data":"tx already exists in cache"}`
		case "nonce":
			return `"result":{"code":5,"data":"","log":"nonce 9, account ab expects 7","codespace":"ledger","hash":"00"}`
		}
		return `"result":{"code":0,"data":"","log":"","codespace":"","hash":"00"}`
	}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	rpc, err := NewRPC(srv.URL, RPCOptions{Batch: 50})
	if err != nil {
		t.Fatal(err)
	}
	txs := make([][]byte, 25)
	for i := range txs {
		txs[i] = []byte(fmt.Sprintf("tx%d", i))
	}
	txs[3], txs[7], txs[12] = []byte("full"), []byte("dup"), []byte("nonce")
	out, err := rpc.Submit(context.Background(), txs)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(txs) {
		t.Fatalf("%d outcomes for %d txs", len(out), len(txs))
	}
	for i, o := range out {
		switch i {
		case 3:
			if !errors.Is(o.Err, ErrMempoolFull) {
				t.Errorf("full mempool: %+v", o)
			}
		case 12:
			if o.Code != 5 || o.Codespace != "ledger" || !strings.Contains(o.Log, "expects 7") {
				t.Errorf("bad nonce: %+v", o)
			}
		default: // tx 7, already in the cache, was admitted before
			if o.Err != nil || o.Code != 0 {
				t.Errorf("tx %d: %+v", i, o)
			}
		}
	}
	// The node's limit of 10 per batch was learnt from its refusal.
	if want := []int{10, 10, 5}; fmt.Sprint(fake.batches) != fmt.Sprint(want) {
		t.Errorf("batches %v, want %v", fake.batches, want)
	}
}

func TestNewRPCRejectsBadAddresses(t *testing.T) {
	for _, addr := range []string{"", "127.0.0.1:26657", "tcp://127.0.0.1:26657", "http://"} {
		if _, err := NewRPC(addr, RPCOptions{}); err == nil {
			t.Errorf("NewRPC(%q) accepted", addr)
		}
	}
}

func TestCheckTxFuncOutcomes(t *testing.T) {
	tests := []struct {
		name string
		res  *abci.CheckTxResponse
		err  error
		want func(Outcome) bool
	}{
		{"admitted", &abci.CheckTxResponse{}, nil, func(o Outcome) bool { return o.Err == nil && o.Code == 0 }},
		{"rejected", &abci.CheckTxResponse{Code: 5, Codespace: "ledger", Log: "expects 2"}, nil,
			func(o Outcome) bool { return o.Code == 5 && o.Log == "expects 2" }},
		{"in cache", nil, fmt.Errorf("submit tx: %w", mempool.ErrTxInCache), func(o Outcome) bool { return o.Err == nil && o.Code == 0 }},
		{"full", nil, fmt.Errorf("submit tx: %w", mempool.ErrMempoolIsFull{NumTxs: 1, MaxTxs: 1}),
			func(o Outcome) bool { return errors.Is(o.Err, ErrMempoolFull) }},
		{"stopped", nil, errors.New("node stopped"), func(o Outcome) bool { return o.Err != nil && !errors.Is(o.Err, ErrMempoolFull) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := CheckTxFunc(func([]byte) (*abci.CheckTxResponse, error) { return tt.res, tt.err })
			out, err := f.Submit(context.Background(), [][]byte{{1}})
			if err != nil || len(out) != 1 || !tt.want(out[0]) {
				t.Errorf("got %+v, %v", out, err)
			}
		})
	}
}
