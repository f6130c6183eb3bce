package ledger

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
)

// GenesisState is the app state in CometBFT's genesis file: the consortium as it starts.
type GenesisState struct {
	Regulator GenesisRegulator `json:"regulator"`
	Members   []GenesisMember  `json:"members"`
	Coin      GenesisCoin      `json:"coin"`
	Accounts  []GenesisAccount `json:"accounts,omitempty"`
}

// GenesisRegulator is the regulator's key: the only one that may freeze and unfreeze.
type GenesisRegulator struct {
	Name   string `json:"name"`
	PubKey PubKey `json:"pubkey"`
}

// GenesisMember is a founding member and its operator key.
type GenesisMember struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Roles    []string `json:"roles"`
	Operator PubKey   `json:"operator_pubkey"`
}

// GenesisCoin names the settlement coin's issuer, a settlement bank.
type GenesisCoin struct {
	Name   string `json:"name"`
	Issuer string `json:"issuer"`
}

// GenesisAccount is an account that exists from the start.
type GenesisAccount struct {
	PubKey   PubKey   `json:"pubkey"`
	Sponsor  string   `json:"sponsor"`
	Kind     string   `json:"kind"`
	OwnerRef Hash     `json:"owner_ref"`
	Venues   []string `json:"venues,omitempty"`
}

// MemberOwnerRef is the owner reference of a member's own operator account.
func MemberOwnerRef(id string) Hash { return sha256.Sum256([]byte("member:" + id)) }

// ParseGenesis reads and checks the app state of a genesis file.
func ParseGenesis(b []byte) (*GenesisState, error) {
	var g GenesisState
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, fmt.Errorf("genesis app state: %w", err)
	}
	return &g, nil
}

// build turns the genesis into a state, checking it as it goes.
func (g *GenesisState) build(chainID string) (*State, error) {
	st := NewState()
	if chainID == "" || len(chainID) > MaxChainID {
		return nil, fmt.Errorf("chain id %q: 1 to %d bytes", chainID, MaxChainID)
	}
	if g.Regulator.PubKey == (PubKey{}) {
		return nil, fmt.Errorf("genesis: regulator key missing")
	}
	reg := AddressOf(g.Regulator.PubKey)
	st.Params = Params{ChainID: chainID, Regulator: reg}
	st.Accounts[reg] = &Account{
		Address: reg, PubKey: g.Regulator.PubKey, Kind: KindInstitution,
		OwnerRef: sha256.Sum256([]byte("regulator:" + g.Regulator.Name)), Status: StatusActive,
	}
	if err := g.addMembers(st); err != nil {
		return nil, err
	}
	bank := st.Members[g.Coin.Issuer]
	if bank == nil || bank.Roles&RoleSettlementBank == 0 {
		return nil, fmt.Errorf("genesis coin issuer %q is not a settlement bank member", g.Coin.Issuer)
	}
	st.Assets[CoinSymbol] = &Asset{
		Symbol: CoinSymbol, Name: g.Coin.Name, Class: ClassCoin, Decimals: CoinDecimals, Issuer: bank.ID,
		Status: StatusActive,
	}
	if err := g.addAccounts(st); err != nil {
		return nil, err
	}
	return st, nil
}

// addMembers adds the genesis members to st, each with its operator's account.
func (g *GenesisState) addMembers(st *State) error {
	for _, gm := range g.Members {
		if !ValidMemberID(gm.ID) {
			return fmt.Errorf("genesis member id %q is ill-formed", gm.ID)
		}
		if _, dup := st.Members[gm.ID]; dup {
			return fmt.Errorf("genesis member %s listed twice", gm.ID)
		}
		var roles Role
		for _, r := range gm.Roles {
			role, err := ParseRole(r)
			if err != nil {
				return fmt.Errorf("genesis member %s: %w", gm.ID, err)
			}
			roles |= role
		}
		if roles == 0 {
			return fmt.Errorf("genesis member %s has no role", gm.ID)
		}
		op := AddressOf(gm.Operator)
		if _, dup := st.Accounts[op]; dup {
			return fmt.Errorf("genesis member %s: operator key already has an account", gm.ID)
		}
		st.Members[gm.ID] = &Member{ID: gm.ID, Name: gm.Name, Roles: roles, Operator: op}
		st.Accounts[op] = &Account{
			Address: op, PubKey: gm.Operator, Sponsor: gm.ID, Kind: KindInstitution,
			OwnerRef: MemberOwnerRef(gm.ID), Status: StatusActive,
		}
	}
	return nil
}

// addAccounts adds the genesis accounts to st, each sponsored by a member.
func (g *GenesisState) addAccounts(st *State) error {
	for i, ga := range g.Accounts {
		kind, err := ParseAccountKind(ga.Kind)
		if err != nil {
			return fmt.Errorf("genesis account %d: %w", i, err)
		}
		body := &RegisterAccount{PubKey: ga.PubKey, Kind: kind, OwnerRef: ga.OwnerRef, Venues: ga.Venues}
		if err := body.validate(); err != nil {
			return fmt.Errorf("genesis account %d: %w", i, err)
		}
		if st.Members[ga.Sponsor] == nil {
			return fmt.Errorf("genesis account %d: sponsor %q is not a member", i, ga.Sponsor)
		}
		addr := AddressOf(ga.PubKey)
		if _, dup := st.Accounts[addr]; dup {
			return fmt.Errorf("genesis account %d: %s listed twice", i, addr)
		}
		st.Accounts[addr] = &Account{
			Address: addr, PubKey: ga.PubKey, Sponsor: ga.Sponsor, Kind: kind,
			OwnerRef: ga.OwnerRef, Status: StatusActive, Venues: ga.Venues,
		}
	}
	return nil
}

// records lists every record of a state, for writing a genesis state in full.
func (st *State) records() []record {
	var out []record
	add := func(k []byte, v interface{ encode(*encoder) }) {
		out = append(out, record{key: k, new: encodeRecord(v)})
	}
	add(keyParams(), &st.Params)
	for id, m := range st.Members {
		add(keyMember(id), m)
	}
	for a, acc := range st.Accounts {
		add(keyAccount(a), acc)
	}
	for sym, as := range st.Assets {
		add(keyAsset(sym), as)
	}
	for k, b := range st.Balances {
		b := b
		add(keyBalance(k), &b)
	}
	for id, se := range st.Settlements {
		add(keySettlement(id), se)
	}
	add(keyReserves(), &st.Reserves)
	add(keyStats(), &st.Stats)
	return out
}

// OwnerRef is the on-chain reference of a beneficial owner: a salted hash of the identity, so
// one owner's accounts can be linked without naming the owner on chain. The salt is the
// consortium's; members compute the same reference for the same identity.
func OwnerRef(identity string) Hash {
	return sha256.Sum256([]byte("ledgerscope/owner/v1\x00" + identity))
}
