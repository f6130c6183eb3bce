package reconcile

import (
	"context"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
)

// Querier is an ABCI application's Query method, which *ledger.App has: reconciliation in the
// node's own process asks the app directly.
type Querier interface {
	Query(ctx context.Context, req *abci.QueryRequest) (*abci.QueryResponse, error)
}

// App is a Ledger over an in-process app.
func App(q Querier) Ledger { return appLedger{q} }

type appLedger struct{ q Querier }

func (a appLedger) Query(ctx context.Context, path string, height int64) ([]byte, error) {
	resp, err := a.q.Query(ctx, &abci.QueryRequest{Path: path, Height: height})
	if err != nil {
		return nil, fmt.Errorf("query %s at %d: %w", path, height, err)
	}
	return answer(path, height, resp)
}

// answer checks a query response: a refusal is an error, as is an answer at another height.
func answer(path string, height int64, resp *abci.QueryResponse) ([]byte, error) {
	if resp.Code != 0 {
		return nil, fmt.Errorf("query %s at %d: code %d: %s", path, height, resp.Code, resp.Log)
	}
	if resp.Height != height {
		return nil, fmt.Errorf("query %s at %d: answered at height %d: %w", path, height, resp.Height, ErrLedger)
	}
	return resp.Value, nil
}

// DefaultRPCTimeout bounds one RPC call; a page of holdings takes well under it.
const DefaultRPCTimeout = 30 * time.Second

// RPC asks a remote node over CometBFT's RPC (abci_query with a height, header). It is both
// a Ledger and a Chain.
type RPC struct {
	remote  string
	timeout time.Duration
	client  *rpchttp.HTTP
}

var (
	_ Ledger = (*RPC)(nil)
	_ Chain  = (*RPC)(nil)
)

// NewRPC returns an RPC client of remote, e.g. "http://127.0.0.1:26657"; each call is bounded
// by timeout (0 means DefaultRPCTimeout). It does not contact the node.
func NewRPC(remote string, timeout time.Duration) (*RPC, error) {
	if timeout <= 0 {
		timeout = DefaultRPCTimeout
	}
	c, err := rpchttp.New(remote)
	if err != nil {
		return nil, fmt.Errorf("node rpc %s: %w", remote, err)
	}
	return &RPC{remote: remote, timeout: timeout, client: c}, nil
}

// Query implements Ledger.
func (c *RPC) Query(ctx context.Context, path string, height int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	res, err := c.client.ABCIQueryWithOptions(ctx, path, nil, rpcclient.ABCIQueryOptions{Height: height})
	if err != nil {
		return nil, fmt.Errorf("query %s at %d on %s: %w", path, height, c.remote, err)
	}
	return answer(path, height, &res.Response)
}

// BlockHashes implements Chain: the hash of the header at height, and the app hash the next
// header commits to, once the node has it.
func (c *RPC) BlockHashes(ctx context.Context, height int64) (hash, appHash []byte, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	h, err := c.client.Header(ctx, &height)
	if err != nil {
		return nil, nil, fmt.Errorf("header %d from %s: %w", height, c.remote, err)
	}
	if h.Header == nil || h.Header.Height != height {
		return nil, nil, fmt.Errorf("header %d from %s: %w", height, c.remote, ErrLedger)
	}
	st, err := c.client.Status(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("status of %s: %w", c.remote, err)
	}
	if st.SyncInfo.LatestBlockHeight <= height {
		return h.Header.Hash(), nil, nil
	}
	next := height + 1
	n, err := c.client.Header(ctx, &next)
	if err != nil {
		return nil, nil, fmt.Errorf("header %d from %s: %w", next, c.remote, err)
	}
	if n.Header == nil || n.Header.Height != next {
		return nil, nil, fmt.Errorf("header %d from %s: %w", next, c.remote, ErrLedger)
	}
	return h.Header.Hash(), n.Header.AppHash, nil
}
