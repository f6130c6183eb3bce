package compliance

import (
	"context"
	"fmt"
)

// acct is what rules need of an account.
type acct struct {
	addr    []byte
	owner   []byte
	kind    string
	sponsor string
}

// maxAccountsLoad bounds one account lookup.
const maxAccountsLoad = 10_000

// account returns a cached account, loading those not yet seen. An address the store does
// not know (it cannot happen for a synced block) yields an individual with an owner of its
// own, the strictest reading.
func (e *Env) loadAccounts(ctx context.Context, addrs [][]byte) error {
	var missing [][]byte
	seen := map[string]bool{}
	for _, a := range addrs {
		if a == nil || e.accounts[string(a)] != nil || seen[string(a)] {
			continue
		}
		seen[string(a)] = true
		missing = append(missing, a)
	}
	for len(missing) > 0 {
		n := min(len(missing), maxAccountsLoad)
		chunk := missing[:n]
		missing = missing[n:]
		rows, err := e.q.Query(ctx, `SELECT address, owner_ref, kind, sponsor FROM accounts WHERE address = ANY($1)`, chunk)
		if err != nil {
			return fmt.Errorf("load accounts: %w", err)
		}
		for rows.Next() {
			a := &acct{}
			if err := rows.Scan(&a.addr, &a.owner, &a.kind, &a.sponsor); err != nil {
				rows.Close()
				return fmt.Errorf("load accounts: %w", err)
			}
			e.accounts[string(a.addr)] = a
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load accounts: %w", err)
		}
		for _, a := range chunk {
			if e.accounts[string(a)] == nil {
				e.accounts[string(a)] = &acct{addr: a, owner: append([]byte("unknown:"), a...), kind: "individual"}
			}
		}
	}
	return nil
}

// acct returns a loaded account; loadAccounts must have seen it.
func (e *Env) acct(a []byte) *acct {
	if x := e.accounts[string(a)]; x != nil {
		return x
	}
	return &acct{addr: a, owner: append([]byte("unknown:"), a...), kind: "individual"}
}

// maxOwnerAccounts bounds the accounts read for a set of owners.
const maxOwnerAccounts = 100_000

// ownersAccounts returns every account of the given owners and caches them.
func (e *Env) ownersAccounts(ctx context.Context, owners [][]byte) ([][]byte, error) {
	rows, err := e.q.Query(ctx, `SELECT address, owner_ref, kind, sponsor FROM accounts WHERE owner_ref = ANY($1) LIMIT $2`, owners, maxOwnerAccounts+1)
	if err != nil {
		return nil, fmt.Errorf("owners' accounts: %w", err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		a := &acct{}
		if err := rows.Scan(&a.addr, &a.owner, &a.kind, &a.sponsor); err != nil {
			return nil, fmt.Errorf("owners' accounts: %w", err)
		}
		e.accounts[string(a.addr)] = a
		out = append(out, a.addr)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("owners' accounts: %w", err)
	}
	if len(out) > maxOwnerAccounts {
		return nil, fmt.Errorf("owners' accounts: more than %d: %w", maxOwnerAccounts, ErrInvalid)
	}
	return out, nil
}
