package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
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
	// NextNonce is the nonce a new transaction of the account should carry: after the
	// committed one and after those this node's mempool already admitted. Only at the latest
	// height; 0 in answers about the past.
	NextNonce uint64 `json:"next_nonce,omitempty"`
}

// BalanceView is a holding as queries return it.
type BalanceView struct {
	Amount    uint64 `json:"amount"`
	Locked    uint64 `json:"locked"`
	Available uint64 `json:"available"`
}

// Query answers read-only questions about the state, as JSON, at the latest height or (with
// a height) at any height the undo log keeps (Config.HistoryBlocks):
//
//	/account/<address>                 the account, its nonce and holdings
//	/balance/<address>/<asset>
//	/balances/<limit>[/<address>/<asset>] holdings in (account, asset) order, after the one given
//	/asset/<symbol>      /assets
//	/member/<id>         /members
//	/settlement/<id>
//	/reserves            the last attestation with the coin supply
//	/stats               transactions executed so far, and how many failed
//	/params
func (a *App) Query(_ context.Context, req *abci.QueryRequest) (*abci.QueryResponse, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	resp := &abci.QueryResponse{Height: a.state.Height, Codespace: Codespace}
	snap, err := a.snapshotAt(req.Height)
	if err != nil {
		resp.Code, resp.Log = QueryBadHeight, err.Error()
		return resp, nil
	}
	resp.Height = snap.h
	v, code, err := answer(snap, strings.Split(strings.Trim(req.Path, "/"), "/"))
	if err != nil {
		resp.Code, resp.Log = code, err.Error()
		return resp, nil
	}
	if view, ok := v.(AccountView); ok && snap.h == a.state.Height {
		a.checkMu.Lock()
		view.NextNonce = max(view.Nonce, a.checkNonces[view.Address]) + 1
		a.checkMu.Unlock()
		v = view
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", req.Path, err)
	}
	resp.Value = b
	return resp, nil
}

// MaxBalancesPage bounds one /balances answer.
const MaxBalancesPage = 100_000

// found turns a lookup into an answer: a read error, a missing record, or the record.
func found[T any](v *T, err error, what string) (any, uint32, error) {
	switch {
	case err != nil:
		return nil, QueryBadHeight, err
	case v == nil:
		return nil, QueryNotFound, fmt.Errorf("no %s", what)
	}
	return v, QueryOK, nil
}

// answer reads what the query path parts ask for from s: the value to encode, or the result
// code and error the client sees.
func answer(s *snapshot, parts []string) (any, uint32, error) {
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
		return accountAnswer(s, addr)
	case "balance":
		addr, err := ParseAddress(arg(1))
		if err != nil {
			return nil, QueryBadRequest, err
		}
		b, err := s.balance(BalanceKey{addr, arg(2)})
		if err != nil {
			return nil, QueryBadHeight, err
		}
		return BalanceView{b.Amount, b.Locked, b.Available()}, QueryOK, nil
	case "balances":
		return balancesAnswer(s, arg(1), arg(2), arg(3))
	case "asset":
		as, err := s.asset(arg(1))
		return found(as, err, "asset "+arg(1))
	case "assets":
		return read(s.assets())
	case "member":
		m, err := s.member(arg(1))
		return found(m, err, "member "+arg(1))
	case "members":
		return read(s.members())
	case "settlement":
		id, err := ParseHash(arg(1))
		if err != nil {
			return nil, QueryBadRequest, err
		}
		se, err := s.settlement(id)
		return found(se, err, "settlement "+id.String())
	case "reserves":
		return reservesAnswer(s)
	case "stats":
		return read(s.stats())
	case "params":
		return s.st.Params, QueryOK, nil
	}
	return nil, QueryBadPath, fmt.Errorf("unknown query path %q", strings.Join(parts, "/"))
}

// read turns a read of the state into an answer: a read error or what was read.
func read[T any](v T, err error) (any, uint32, error) {
	if err != nil {
		return nil, QueryBadHeight, err
	}
	return v, QueryOK, nil
}

// accountAnswer is /account/<address>: the account with its nonzero balances.
func accountAnswer(s *snapshot, addr Address) (any, uint32, error) {
	acc, err := s.account(addr)
	if err != nil || acc == nil {
		return found(acc, err, "account "+addr.String())
	}
	assets, err := s.assets()
	if err != nil {
		return nil, QueryBadHeight, err
	}
	view := AccountView{Account: acc, Balances: map[string]BalanceView{}}
	for _, as := range assets {
		b, err := s.balance(BalanceKey{addr, as.Symbol})
		if err != nil {
			return nil, QueryBadHeight, err
		}
		if b != (Balance{}) {
			view.Balances[as.Symbol] = BalanceView{b.Amount, b.Locked, b.Available()}
		}
	}
	return view, QueryOK, nil
}

// balancesAnswer is /balances/<limit>[/<account>/<asset>]: a page of balances after the
// given holding, if any.
func balancesAnswer(s *snapshot, limitArg, account, asset string) (any, uint32, error) {
	limit, err := strconv.Atoi(limitArg)
	if err != nil || limit < 1 || limit > MaxBalancesPage {
		return nil, QueryBadRequest, fmt.Errorf("/balances/<limit>: limit from 1 to %d", MaxBalancesPage)
	}
	var after BalanceKey
	if account != "" {
		if after.Account, err = ParseAddress(account); err != nil {
			return nil, QueryBadRequest, err
		}
		after.Asset = asset
	}
	return read(s.balancesPage(after, limit))
}

// reservesAnswer is /reserves: the last attestation with the coin's supply beside it.
func reservesAnswer(s *snapshot) (any, uint32, error) {
	r, err := s.reserves()
	if err != nil {
		return nil, QueryBadHeight, err
	}
	coin, err := s.asset(CoinSymbol)
	if err != nil {
		return nil, QueryBadHeight, err
	}
	var supply uint64
	if coin != nil {
		supply = coin.Supply
	}
	return struct {
		Reserves
		Supply uint64
	}{r, supply}, QueryOK, nil
}
