package ledger

import (
	"errors"
	"fmt"
)

// Invariants of the state, each a named function so a failure says which broke. They hold
// after every committed block; tests check them after each one.

// InvariantSupply: for each asset, the sum of all balances equals its supply.
func InvariantSupply(st *State) error {
	sums := map[string]uint64{}
	for k, b := range st.Balances {
		s := sums[k.Asset] + b.Amount
		if s < sums[k.Asset] {
			return fmt.Errorf("supply: balances of %s overflow", k.Asset)
		}
		sums[k.Asset] = s
	}
	for _, sym := range sortedKeys(st.Assets, func(a, b string) bool { return a < b }) {
		if got, want := sums[sym], st.Assets[sym].Supply; got != want {
			return fmt.Errorf("supply: balances of %s sum to %d, supply is %d", sym, got, want)
		}
		delete(sums, sym)
	}
	for sym := range sums {
		return fmt.Errorf("supply: balances held in unknown asset %s", sym)
	}
	return nil
}

// InvariantLocked: no holding is negative (amounts are unsigned, so a wrapped subtraction
// shows as a huge amount) and the locked part never exceeds the balance.
func InvariantLocked(st *State) error {
	for k, b := range st.Balances {
		if b.Amount > MaxAmount {
			return fmt.Errorf("balance: %s holds %d %s, beyond %d: a negative balance wrapped", k.Account, b.Amount, k.Asset, uint64(MaxAmount))
		}
		if b.Locked > b.Amount {
			return fmt.Errorf("locked: %s has %d %s locked of %d", k.Account, b.Locked, k.Asset, b.Amount)
		}
	}
	return nil
}

// InvariantMinted: every asset's supply equals what was minted less what was burned.
func InvariantMinted(st *State) error {
	for sym, as := range st.Assets {
		if as.Minted < as.Burned || as.Minted-as.Burned != as.Supply {
			return fmt.Errorf("minted: %s minted %d, burned %d, supply %d", sym, as.Minted, as.Burned, as.Supply)
		}
	}
	return nil
}

// InvariantSettlementLocks: the locked part of each holding equals the quantities of the open
// settlements that lock it.
func InvariantSettlementLocks(st *State) error {
	locks := map[BalanceKey]uint64{}
	for _, se := range st.Settlements {
		if se.State == SettlementLocked {
			locks[BalanceKey{se.Seller, se.Asset}] += se.Quantity
		}
	}
	for k, b := range st.Balances {
		if b.Locked != locks[k] {
			return fmt.Errorf("locks: %s has %d %s locked, open settlements lock %d", k.Account, b.Locked, k.Asset, locks[k])
		}
		delete(locks, k)
	}
	for k, v := range locks {
		return fmt.Errorf("locks: settlements lock %d %s of %s, which holds none", v, k.Asset, k.Account)
	}
	return nil
}

// CheckInvariants runs every invariant and joins what broke.
func CheckInvariants(st *State) error {
	return errors.Join(InvariantSupply(st), InvariantLocked(st), InvariantMinted(st), InvariantSettlementLocks(st))
}
