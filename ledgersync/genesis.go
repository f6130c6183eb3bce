package ledgersync

import (
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/store"
)

// GenesisRows derives the rows of the genesis state (members, their operator accounts, the
// regulator's account, genesis accounts and the settlement coin) the way the ledger builds
// its genesis state, since genesis emits no events for the sync to read.
func GenesisRows(chainID string, genesisTime time.Time, g *ledger.GenesisState) (store.Genesis, error) {
	if chainID == "" {
		return store.Genesis{}, fmt.Errorf("genesis: empty chain id")
	}
	out := store.Genesis{ChainID: chainID, Time: genesisTime.UTC()}
	reg := g.Regulator.PubKey
	regAddr := ledger.AddressOf(reg)
	out.Accounts = append(out.Accounts, store.Account{
		Address: addrBytes(regAddr), PubKey: append([]byte(nil), reg[:]...), Kind: ledger.KindInstitution.String(),
		OwnerRef: hashOf(sha256.Sum256([]byte("regulator:" + g.Regulator.Name))), Status: ledger.StatusActive.String(),
		Venues: store.StringList{},
	})
	for _, m := range g.Members {
		op := ledger.AddressOf(m.Operator)
		out.Members = append(out.Members, store.Member{ID: m.ID, Name: m.Name, Roles: store.StringList(m.Roles), Operator: addrBytes(op)})
		out.Accounts = append(out.Accounts, store.Account{
			Address: addrBytes(op), PubKey: append([]byte(nil), m.Operator[:]...), Sponsor: m.ID,
			Kind: ledger.KindInstitution.String(), OwnerRef: hashOf(ledger.MemberOwnerRef(m.ID)),
			Status: ledger.StatusActive.String(), Venues: store.StringList{},
		})
	}
	for i, a := range g.Accounts {
		kind, err := ledger.ParseAccountKind(a.Kind)
		if err != nil {
			return store.Genesis{}, fmt.Errorf("genesis account %d: %w", i, err)
		}
		out.Accounts = append(out.Accounts, store.Account{
			Address: addrBytes(ledger.AddressOf(a.PubKey)), PubKey: append([]byte(nil), a.PubKey[:]...), Sponsor: a.Sponsor,
			Kind: kind.String(), OwnerRef: hashOf(a.OwnerRef), Status: ledger.StatusActive.String(),
			Venues: store.StringList(a.Venues),
		})
	}
	coin := ledger.Asset{Symbol: ledger.CoinSymbol, Name: g.Coin.Name, Class: ledger.ClassCoin, Decimals: 2, Issuer: g.Coin.Issuer}
	out.Assets = append(out.Assets, assetRow(&coin, 0))
	return out, nil
}

func hashOf(h ledger.Hash) []byte { return h[:] }

// GenesisFromDoc reads the genesis rows from a CometBFT genesis document: chain id, genesis
// time and the ledger's app state.
func GenesisFromDoc(doc *types.GenesisDoc) (store.Genesis, error) {
	g, err := ledger.ParseGenesis(doc.AppState)
	if err != nil {
		return store.Genesis{}, err
	}
	return GenesisRows(doc.ChainID, doc.GenesisTime, g)
}
