package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"
)

// Query codes, apart from the transaction codes: a query is not on the chain.
const (
	QueryOK         uint32 = 0
	QueryBadPath    uint32 = 1
	QueryNotFound   uint32 = 2
	QueryBadHeight  uint32 = 3
	QueryBadRequest uint32 = 4
)

// AccountView is an account as queries return it, with its holdings.
type AccountView struct {
	*Account
	Balances map[string]BalanceView `json:"balances"`
}

// BalanceView is a holding as queries return it.
type BalanceView struct {
	Amount    uint64 `json:"amount"`
	Locked    uint64 `json:"locked"`
	Available uint64 `json:"available"`
}

// Query answers read-only questions about the committed state, as JSON:
//
//	/account/<address>     the account, its nonce and holdings
//	/balance/<address>/<asset>
//	/asset/<symbol>        /assets
//	/member/<id>           /members
//	/settlement/<id>
//	/reserves              the last attestation with the coin supply
//	/params
//
// Only the latest height is kept in memory; a query at another height is refused.
func (a *App) Query(_ context.Context, req *abci.QueryRequest) (*abci.QueryResponse, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	st := a.state
	resp := &abci.QueryResponse{Height: st.Height, Codespace: Codespace}
	if req.Height != 0 && req.Height != st.Height {
		resp.Code, resp.Log = QueryBadHeight, fmt.Sprintf("state is kept at the latest height %d only", st.Height)
		return resp, nil
	}
	v, code, err := answer(st, strings.Split(strings.Trim(req.Path, "/"), "/"))
	if err != nil {
		resp.Code, resp.Log = code, err.Error()
		return resp, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", req.Path, err)
	}
	resp.Value = b
	return resp, nil
}

func answer(st *State, parts []string) (any, uint32, error) {
	arg := func(i int) string {
		if i < len(parts) {
			return parts[i]
		}
		return ""
	}
	switch arg(0) {
	case "account":
		addr, err := ParseAddress(arg(1))
		if err != nil {
			return nil, QueryBadRequest, err
		}
		acc := st.Accounts[addr]
		if acc == nil {
			return nil, QueryNotFound, fmt.Errorf("no account %s", addr)
		}
		view := AccountView{Account: acc, Balances: map[string]BalanceView{}}
		for sym := range st.Assets {
			if b, ok := st.Balances[BalanceKey{addr, sym}]; ok {
				view.Balances[sym] = BalanceView{b.Amount, b.Locked, b.Available()}
			}
		}
		return view, QueryOK, nil
	case "balance":
		addr, err := ParseAddress(arg(1))
		if err != nil {
			return nil, QueryBadRequest, err
		}
		b := st.Balances[BalanceKey{addr, arg(2)}]
		return BalanceView{b.Amount, b.Locked, b.Available()}, QueryOK, nil
	case "asset":
		as := st.Assets[arg(1)]
		if as == nil {
			return nil, QueryNotFound, fmt.Errorf("no asset %q", arg(1))
		}
		return as, QueryOK, nil
	case "assets":
		return sortedValues(st.Assets), QueryOK, nil
	case "member":
		m := st.Members[arg(1)]
		if m == nil {
			return nil, QueryNotFound, fmt.Errorf("no member %q", arg(1))
		}
		return m, QueryOK, nil
	case "members":
		return sortedValues(st.Members), QueryOK, nil
	case "settlement":
		id, err := ParseHash(arg(1))
		if err != nil {
			return nil, QueryBadRequest, err
		}
		se := st.Settlements[id]
		if se == nil {
			return nil, QueryNotFound, fmt.Errorf("no settlement %s", id)
		}
		return se, QueryOK, nil
	case "reserves":
		var supply uint64
		if c := st.Assets[CoinSymbol]; c != nil {
			supply = c.Supply
		}
		return struct {
			Reserves
			Supply uint64
		}{st.Reserves, supply}, QueryOK, nil
	case "params":
		return st.Params, QueryOK, nil
	}
	return nil, QueryBadPath, fmt.Errorf("unknown query path %q", strings.Join(parts, "/"))
}

func sortedValues[V any](m map[string]V) []V {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]V, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}
