package ledger

import (
	"crypto/ed25519"
	"crypto/sha256"
)

// DemoMember describes one member of the demo consortium.
type DemoMember struct {
	ID    string
	Name  string
	Roles []string
}

// DemoMembers is the demo consortium: four regional exchanges (the validators), two brokers,
// two issuers, the settlement bank, a payment gateway and a warehouse custodian.
var DemoMembers = []DemoMember{
	{"SZFE", "Shenzhen Qianhai Financial Exchange", []string{"exchange"}},
	{"TJCE", "Tianjin Commodity Exchange", []string{"exchange"}},
	{"SHCX", "Shanghai Commodity Exchange Centre", []string{"exchange"}},
	{"CQCE", "Chongqing Commodity Exchange", []string{"exchange"}},
	{"HTSC", "Huatai Securities", []string{"broker"}},
	{"GTJA", "Guotai Junan Securities", []string{"broker"}},
	{"PAFG", "Ping An Financial Group", []string{"issuer"}},
	{"CMCI", "China Merchants Capital", []string{"issuer"}},
	{"BOCS", "Bank of China Settlement", []string{"settlement_bank"}},
	{"UPGW", "UnionPay Settlement Gateway", []string{"gateway"}},
	{"CMWH", "China Materials Warehousing", []string{"custodian"}},
}

// DemoExchanges are the demo members that run validators, in validator order.
var DemoExchanges = []string{"SZFE", "TJCE", "SHCX", "CQCE"}

// DemoKey derives a demo key from a seed and a name ("regulator", "member/SZFE", ...), so that
// the devnet, the load generator and tests agree on keys without exchanging files. Never for
// real use: anyone who knows the seed has the key.
func DemoKey(seed, name string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte("ledgerscope/demo-key/" + seed + "/" + name))
	return ed25519.NewKeyFromSeed(s[:])
}

// DemoGenesis is the demo consortium's genesis, with keys derived from seed.
func DemoGenesis(seed string) *GenesisState {
	g := &GenesisState{
		Regulator: GenesisRegulator{Name: "CSRC", PubKey: PubKeyOf(DemoKey(seed, "regulator"))},
		Coin:      GenesisCoin{Name: "Settlement Yuan", Issuer: "BOCS"},
	}
	for _, m := range DemoMembers {
		g.Members = append(g.Members, GenesisMember{
			ID: m.ID, Name: m.Name, Roles: m.Roles, Operator: PubKeyOf(DemoKey(seed, "member/"+m.ID)),
		})
	}
	return g
}
