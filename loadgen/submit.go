package loadgen

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	abcitypes "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/mempool"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// Outcome is what a node said of one submitted transaction.
type Outcome struct {
	// Code, Codespace and Log are CheckTx's answer; code 0 admitted the transaction to the
	// mempool.
	Code      uint32
	Codespace string
	Log       string
	// Err is set when the node did not check the transaction (its mempool is full, say);
	// the code is then meaningless. Errors wrapping ErrMempoolFull are worth retrying.
	Err error
}

// ErrMempoolFull says the node's mempool had no room: submit the transaction again later.
var ErrMempoolFull = errors.New("mempool is full")

// Submitter hands signed transactions to a node, in order.
type Submitter interface {
	// Submit offers txs in order and returns one outcome per transaction. On an error the
	// outcomes cover the prefix that reached the node; the rest were not sent.
	Submit(ctx context.Context, txs [][]byte) ([]Outcome, error)
}

// CheckTxFunc adapts an in-process node's submission, such as (*node.Node).SubmitTx, to a
// Submitter.
type CheckTxFunc func(tx []byte) (*abcitypes.CheckTxResponse, error)

// Submit calls f for each transaction in turn.
func (f CheckTxFunc) Submit(ctx context.Context, txs [][]byte) ([]Outcome, error) {
	out := make([]Outcome, 0, len(txs))
	for _, tx := range txs {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		res, err := f(tx)
		var full mempool.ErrMempoolIsFull
		switch {
		case errors.Is(err, mempool.ErrTxInCache):
			// Seen before and admitted then: a retried submission.
			out = append(out, Outcome{Log: "already in the mempool cache"})
		case errors.As(err, &full):
			out = append(out, Outcome{Err: fmt.Errorf("%w: %v", ErrMempoolFull, err)})
		case err != nil:
			out = append(out, Outcome{Err: err})
		default:
			out = append(out, Outcome{Code: res.Code, Codespace: res.Codespace, Log: res.Log})
		}
	}
	return out, nil
}

// AppQuerier answers ledger queries from an application in this process, such as
// *ledger.App.
type AppQuerier struct {
	App interface {
		Query(context.Context, *abcitypes.QueryRequest) (*abcitypes.QueryResponse, error)
	}
}

// Query runs the ABCI query at the latest height.
func (q AppQuerier) Query(ctx context.Context, path string) ([]byte, error) {
	resp, err := q.App.Query(ctx, &abcitypes.QueryRequest{Path: path})
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", path, err)
	}
	return queryAnswer(path, resp.Code, resp.Log, resp.Value)
}

func queryAnswer(path string, code uint32, log string, value []byte) ([]byte, error) {
	switch code {
	case ledger.QueryOK:
		return value, nil
	case ledger.QueryNotFound:
		return nil, fmt.Errorf("%s: %w", path, ErrNotFound)
	}
	return nil, fmt.Errorf("query %s: code %d: %s", path, code, log)
}

// RPCOptions tunes an RPC submitter.
type RPCOptions struct {
	// Batch is the most transactions sent in one JSON-RPC batch request (default 500). The
	// node's rpc.max_request_batch_size must allow it (CometBFT's default is 10); the
	// submitter shrinks its batches to whatever the node says its limit is.
	Batch int
	// Timeout bounds one HTTP request (default 30s).
	Timeout time.Duration
}

// Limits of the RPC submitter.
const (
	defaultRPCBatch = 500
	maxRPCBatch     = 5_000
	// maxRequestBytes stays under CometBFT's default rpc.max_body_bytes of 1 MB.
	maxRequestBytes = 900_000
	// maxResponseBytes bounds what is read back from one request.
	maxResponseBytes = 64 << 20
)

// RPC submits transactions to a CometBFT node over JSON-RPC, broadcast_tx_sync, many per
// HTTP request, and answers ledger queries through abci_query. It is safe for concurrent
// use; submissions from one goroutine keep their order.
//
// Batches are posted directly rather than through rpc/client/http's BatchHTTP, which fails a
// whole batch when one request in it errs (a full mempool, a transaction already in the
// cache) and so loses the outcome of every other one.
type RPC struct {
	endpoint string
	http     *http.Client
	client   *rpchttp.HTTP

	mu     sync.Mutex
	batch  int
	nextID int64
}

// NewRPC returns a submitter for the node whose RPC listens at remote
// (http://127.0.0.1:26657, say).
func NewRPC(remote string, opt RPCOptions) (*RPC, error) {
	u, err := url.Parse(remote)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("node rpc address %q: want http://host:port", remote)
	}
	if opt.Batch == 0 {
		opt.Batch = defaultRPCBatch
	}
	if opt.Batch < 1 || opt.Batch > maxRPCBatch {
		return nil, fmt.Errorf("rpc batch %d: want 1 to %d", opt.Batch, maxRPCBatch)
	}
	if opt.Timeout == 0 {
		opt.Timeout = 30 * time.Second
	}
	hc := &http.Client{Timeout: opt.Timeout, Transport: &http.Transport{
		MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second,
	}}
	client, err := rpchttp.NewWithClient(remote, hc)
	if err != nil {
		return nil, fmt.Errorf("node rpc client: %w", err)
	}
	return &RPC{endpoint: strings.TrimRight(remote, "/") + "/", http: hc, client: client, batch: opt.Batch}, nil
}

// ChainID asks the node which chain it runs.
func (r *RPC) ChainID(ctx context.Context) (string, error) {
	st, err := r.client.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("node status: %w", err)
	}
	return st.NodeInfo.Network, nil
}

// Query runs an ABCI query at the latest height.
func (r *RPC) Query(ctx context.Context, path string) ([]byte, error) {
	res, err := r.client.ABCIQuery(ctx, path, nil)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", path, err)
	}
	return queryAnswer(path, res.Response.Code, res.Response.Log, res.Response.Value)
}

// Submit sends txs in batches, in order.
func (r *RPC) Submit(ctx context.Context, txs [][]byte) ([]Outcome, error) {
	out := make([]Outcome, 0, len(txs))
	for shrinks := 0; len(out) < len(txs); {
		rest := txs[len(out):]
		n := r.chunk(rest)
		res, err := r.post(ctx, rest[:n])
		var limit *batchLimitError
		if errors.As(err, &limit) && shrinks < 8 {
			shrinks++
			r.mu.Lock()
			r.batch = max(1, min(r.batch, limit.max))
			r.mu.Unlock()
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, res...)
	}
	return out, nil
}

// chunk is how many of txs fit one request.
func (r *RPC) chunk(txs [][]byte) int {
	r.mu.Lock()
	limit := r.batch
	r.mu.Unlock()
	size := 2
	for i, tx := range txs {
		size += base64.StdEncoding.EncodedLen(len(tx)) + 96
		if i == limit || (i > 0 && size > maxRequestBytes) {
			return i
		}
	}
	return len(txs)
}

// batchLimitError is the node refusing a batch larger than its max_request_batch_size.
type batchLimitError struct{ max int }

func (e *batchLimitError) Error() string {
	return fmt.Sprintf("node accepts at most %d requests per batch", e.max)
}

var batchLimitRE = regexp.MustCompile(`batch request exceeds maximum \((\d+)\)`)

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    string `json:"data"`
}

type rpcResponse struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *rpcError       `json:"error"`
}

// broadcastResult is the part of ResultBroadcastTx read here. CometBFT's JSON writes
// 64-bit integers as strings; the code is 32-bit, but accept either form.
type broadcastResult struct {
	Code      json.Number `json:"code"`
	Log       string      `json:"log"`
	Codespace string      `json:"codespace"`
}

func (r *RPC) post(ctx context.Context, txs [][]byte) ([]Outcome, error) {
	r.mu.Lock()
	first := r.nextID + 1
	r.nextID += int64(len(txs))
	r.mu.Unlock()

	status, raw, err := r.exchange(ctx, batchRequest(first, txs))
	if err != nil {
		return nil, err
	}
	if len(raw) == 0 || raw[0] != '[' {
		return singleAnswer(raw, status, first, len(txs))
	}
	return batchAnswers(raw, first, len(txs))
}

// batchRequest is the JSON-RPC batch that broadcasts txs, their request ids counting from
// first.
func batchRequest(first int64, txs [][]byte) *bytes.Buffer {
	var body bytes.Buffer
	body.Grow(len(txs) * 700)
	body.WriteByte('[')
	for i, tx := range txs {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"jsonrpc":"2.0","id":%d,"method":"broadcast_tx_sync","params":{"tx":"%s"}}`,
			first+int64(i), base64.StdEncoding.EncodeToString(tx))
	}
	body.WriteByte(']')
	return &body
}

// exchange posts body to the node and returns the HTTP status and the answer, trimmed.
func (r *RPC) exchange(ctx context.Context, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.endpoint, body)
	if err != nil {
		return 0, nil, fmt.Errorf("broadcast: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("broadcast: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return 0, nil, fmt.Errorf("broadcast: read response: %w", err)
	}
	return resp.StatusCode, bytes.TrimSpace(raw), nil
}

// singleAnswer reads an answer that is not a batch: CometBFT answers a batch of one, or a
// refused batch, with a single object. A refusal for the batch's size is a batchLimitError.
func singleAnswer(raw []byte, status int, first int64, n int) ([]Outcome, error) {
	var single rpcResponse
	err := json.Unmarshal(raw, &single)
	if err == nil && n == 1 && strings.Trim(string(single.ID), `"`) == strconv.FormatInt(first, 10) {
		return []Outcome{outcomeOf(single)}, nil
	}
	if err == nil && single.Error != nil {
		if m := batchLimitRE.FindStringSubmatch(single.Error.Data + single.Error.Message); m != nil {
			limit, _ := strconv.Atoi(m[1])
			return nil, &batchLimitError{max: limit}
		}
		return nil, fmt.Errorf("broadcast: %s: %s", single.Error.Message, single.Error.Data)
	}
	return nil, fmt.Errorf("broadcast: http %d: unexpected answer %.200q", status, raw)
}

// batchAnswers reads the outcomes of a batch of n transactions whose request ids count from
// first. A transaction the batch does not answer has an Outcome with an Err.
func batchAnswers(raw []byte, first int64, n int) ([]Outcome, error) {
	var answers []rpcResponse
	if err := json.Unmarshal(raw, &answers); err != nil {
		return nil, fmt.Errorf("broadcast: decode answers: %w", err)
	}
	out := make([]Outcome, n)
	seen := make([]bool, n)
	for _, a := range answers {
		id, err := strconv.ParseInt(strings.Trim(string(a.ID), `"`), 10, 64)
		i := id - first
		if err != nil || i < 0 || i >= int64(n) || seen[i] {
			return nil, fmt.Errorf("broadcast: answer with unexpected id %s", a.ID)
		}
		seen[i] = true
		out[i] = outcomeOf(a)
	}
	for i, ok := range seen {
		if !ok {
			// The request reached the node but went unanswered: treat as not checked.
			out[i] = Outcome{Err: errors.New("no answer in the batch response")}
		}
	}
	return out, nil
}

func outcomeOf(a rpcResponse) Outcome {
	if a.Error != nil {
		msg := a.Error.Message + ": " + a.Error.Data
		switch {
		case strings.Contains(msg, "tx already exists in cache"):
			return Outcome{Log: "already in the mempool cache"}
		case strings.Contains(msg, "mempool is full"):
			return Outcome{Err: fmt.Errorf("%w: %s", ErrMempoolFull, a.Error.Data)}
		}
		return Outcome{Err: fmt.Errorf("rpc error %d: %s", a.Error.Code, msg)}
	}
	var res broadcastResult
	if err := json.Unmarshal(a.Result, &res); err != nil {
		return Outcome{Err: fmt.Errorf("decode broadcast result: %w", err)}
	}
	code, err := strconv.ParseUint(res.Code.String(), 10, 32)
	if err != nil && res.Code != "" {
		return Outcome{Err: fmt.Errorf("broadcast result code %q: %w", res.Code, err)}
	}
	return Outcome{Code: uint32(code), Codespace: res.Codespace, Log: res.Log}
}
