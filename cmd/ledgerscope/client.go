package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/ledgerscope/ledgerscope/keyring"
	"github.com/ledgerscope/ledgerscope/ledger"
)

// defaultNode is the devnet's first validator, the RPC endpoint the demo exposes.
const defaultNode = "http://127.0.0.1:26657"

// ledgerClient talks to a node's CometBFT RPC on behalf of the tx and query commands.
type ledgerClient struct {
	rpc *rpchttp.HTTP
	url string
}

// namedAddress accepts a 40-digit hex address or the name of a key in ring.
func namedAddress(ring *keyring.Ring, s string) (ledger.Address, error) {
	if a, err := ledger.ParseAddress(s); err == nil {
		return a, nil
	}
	k, err := ring.Get(s)
	if err != nil {
		return ledger.Address{}, fmt.Errorf("%q is neither an address nor a key name: %w", s, err)
	}
	return k.Address(), nil
}

func dialNode(url string) (*ledgerClient, error) {
	c, err := rpchttp.NewWithTimeout(url, 30)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", url, err)
	}
	return &ledgerClient{rpc: c, url: url}, nil
}

// query runs an ABCI query and decodes its JSON answer into out.
func (c *ledgerClient) query(ctx context.Context, path string, out any) error {
	res, err := c.rpc.ABCIQuery(ctx, path, nil)
	if err != nil {
		return fmt.Errorf("query %s at %s: %w", path, c.url, err)
	}
	if res.Response.Code != 0 {
		return fmt.Errorf("query %s: %s", path, res.Response.Log)
	}
	if err := json.Unmarshal(res.Response.Value, out); err != nil {
		return fmt.Errorf("query %s: answer: %w", path, err)
	}
	return nil
}

func (c *ledgerClient) chainID(ctx context.Context) (string, error) {
	st, err := c.rpc.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("status of %s: %w", c.url, err)
	}
	return st.NodeInfo.Network, nil
}

// nextNonce asks the node for the account's next nonce, counting what its mempool already
// admitted, so that a key also in use elsewhere does not reuse a pending nonce.
func (c *ledgerClient) nextNonce(ctx context.Context, a ledger.Address) (uint64, error) {
	var acc struct {
		Nonce     uint64
		NextNonce uint64 `json:"next_nonce"`
	}
	if err := c.query(ctx, "/account/"+a.String(), &acc); err != nil {
		return 0, err
	}
	return max(acc.NextNonce, acc.Nonce+1), nil
}

func (c *ledgerClient) decimals(ctx context.Context, symbol string) (uint8, error) {
	var as struct{ Decimals uint8 }
	if err := c.query(ctx, "/asset/"+symbol, &as); err != nil {
		return 0, err
	}
	return as.Decimals, nil
}

// broadcast submits a signed tx, waits for the block that includes it and prints its result
// and events as d renders them.
func (c *ledgerClient) broadcast(ctx context.Context, raw []byte, w io.Writer, d *display) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	res, err := c.rpc.BroadcastTxCommit(ctx, raw)
	if err != nil {
		if msg, ok := checkTxRefusal(err); ok {
			return fmt.Errorf("rejected by the node: %s", d.text(msg))
		}
		return fmt.Errorf("broadcast to %s: %w", c.url, err)
	}
	fmt.Fprintf(w, "tx %X\n", res.Hash)
	if res.CheckTx.Code != 0 {
		return fmt.Errorf("rejected by the mempool: %s (code %d %s)", d.text(res.CheckTx.Log), res.CheckTx.Code, ledger.Code(res.CheckTx.Code))
	}
	r := res.TxResult
	fmt.Fprintf(w, "height %d, code %d (%s)\n", res.Height, r.Code, ledger.Code(r.Code))
	if r.Code != 0 {
		return fmt.Errorf("failed in block %d: %s", res.Height, d.text(r.Log))
	}
	evs, err := ledger.TxEvents(&r)
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	for _, ev := range evs {
		fmt.Fprintf(w, "  %s\n", d.event(ev))
	}
	return nil
}

// checkTxRE reads the code and log out of the JSON-RPC error CometBFT returns when CheckTx
// refuses a tx sent with broadcast_tx_commit.
var checkTxRE = regexp.MustCompile(`is invalid: code=(\d+), data=[^,]*, log='(.*)', codespace=`)

// checkTxRefusal turns CometBFT's JSON-RPC error for a tx CheckTx refused into the ledger's
// reason and code, or reports that err is something else.
func checkTxRefusal(err error) (string, bool) {
	m := checkTxRE.FindStringSubmatch(err.Error())
	if m == nil {
		return "", false
	}
	code, cerr := strconv.ParseUint(m[1], 10, 32)
	if cerr != nil {
		return "", false
	}
	return fmt.Sprintf("%s (code %d %s)", m[2], code, ledger.Code(code)), true
}
