package loadgen

import "github.com/ledgerscope/ledgerscope/ledger"

// Thresholds of issue 4's rules at their default parameters, in the coin's smallest unit (fen)
// where they are money. Clean traffic keeps far from each; scenarios cross exactly one.
const (
	fenPerYuan = 100
	// LV-INST and LV-IND: daily sum of an account's coin debits and credits.
	lvInstitution = 2_000_000 * fenPerYuan
	lvIndividual  = 500_000 * fenPerYuan
	// STRUCT: at least structN transfers from one owner within structWindow, each in
	// [0.9·T, T) of a large-value threshold T.
	structN      = 3
	structWindow = 5 * 24 * 3600
	// HOLD-5: one owner's holdings of a security, over all its accounts, cross 5% of supply.
	holdStepBP = 500
	// RAPID: at least 90% of funds received sent on within an hour.
	rapidSharePct = 90
	rapidWindow   = 3600
)

// Clean margins: how far from each rule clean traffic stays.
const (
	// Each account's coin debits plus credits over today and yesterday (Shanghai days) stay
	// within this share of its large-value threshold, so no calendar day in any zone, and no
	// rolling 24 hours, comes near it.
	cleanLVPct = 40
	// No clean coin movement exceeds this, well below 0.9 of the smaller threshold, so none
	// falls in a structuring band.
	cleanMaxCoinMove = 200_000 * fenPerYuan
	// After any coin credit, the account's coin debits within cleanRapidWindow stay below
	// cleanRapidPct of that credit, and the debits before it within the window below
	// cleanRapidBeforePct of it: neither a per-receipt reading of RAPID nor a sliding-window
	// one (out ≥ 90% of in over any hour) can trip, since 50% + 30% < 90%.
	cleanRapidPct       = 50
	cleanRapidBeforePct = 30
	cleanRapidWindow    = 2 * 3600
	// Each clean owner holds at most this share of any security's supply.
	cleanHoldBP = 250
	// ... and at most this share of a futures contract's position limit.
	cleanPosPct = 40
	// An account never moves an asset in one direction and then the other within this many
	// seconds, so no pair of trades can look matched.
	cleanMatchedGap = 60
	// Clean gateway settlements: deadline two hours ahead, confirmed within seconds.
	cleanSettleDeadline = 2 * 3600
	// Trades are placed only while their venue stays in session for this much longer, so the
	// block that carries them is in session too.
	sessionMargin = 120
	// A clean freeze only hits an account idle for this long, with nothing open.
	freezeIdle = 60
	// Attestations are refreshed at least this often (ATTEST-AGE allows 31 days).
	attestEvery = 24 * 3600
)

// assetSpec is one instrument the setup phase issues, with its reference price.
type assetSpec struct {
	body *ledger.IssueAsset
	// issuer is the member whose operator issues and mints it.
	issuer string
	// price is the reference price of one smallest unit, in fen.
	price uint64
	// lot is the trading unit in smallest units (a board lot of 100 shares, one futures lot,
	// a tonne of a warehouse receipt).
	lot uint64
	// holders and lots bound the initial distribution: how many holders, and how many lots
	// each receives (uniform in [lotsMin, 2·lotsMin]).
	holders int
	lotsMin uint64
	// maxLots bounds one clean trade.
	maxLots uint64
}

func (a *assetSpec) security() bool { return a.body.Class == ledger.ClassSecurity }
func (a *assetSpec) future() bool   { return a.body.Kind == ledger.SecurityFuture }
func (a *assetSpec) loyalty() bool  { return a.body.Class == ledger.ClassLoyalty }

// catalog is the demo market. Symbols look like mainland codes; the names are the members'
// own group companies so the story holds together. Order matters: it fixes asset indexes.
func catalog() []*assetSpec {
	stock := func(sym, name, issuer, venue string, priceFen uint64) *assetSpec {
		return &assetSpec{
			body: &ledger.IssueAsset{Symbol: sym, Name: name, Class: ledger.ClassSecurity,
				Kind: ledger.SecurityStock, Venue: venue},
			issuer: issuer, price: priceFen, lot: 100, holders: 130, lotsMin: 20, maxLots: 30,
		}
	}
	receipt := func(sym, name, commodity, grade, venue string, priceFen, lot uint64) *assetSpec {
		return &assetSpec{
			body: &ledger.IssueAsset{Symbol: sym, Name: name, Class: ledger.ClassCommodity,
				Decimals: 3, Venue: venue, Commodity: commodity, Grade: grade, Warehouse: "CMWH", Unit: "tonne"},
			// Prices are per kilogram, the smallest unit; a lot is a tonne, copper's 100 kg.
			issuer: "CMWH", price: priceFen, lot: lot, holders: 60, lotsMin: 5, maxLots: 5,
		}
	}
	return []*assetSpec{
		stock("601318", "Ping An Insurance (Group) A", "PAFG", "SZFE", 4_520),
		stock("000001", "Ping An Bank A", "PAFG", "SZFE", 1_130),
		stock("600036", "China Merchants Bank A", "CMCI", "SHCX", 3_480),
		stock("600999", "China Merchants Securities A", "CMCI", "SHCX", 1_780),
		stock("001979", "China Merchants Shekou Holdings A", "CMCI", "TJCE", 1_020),
		stock("000625", "Changan Automobile A", "CMCI", "CQCE", 1_350),
		{
			body: &ledger.IssueAsset{Symbol: "240215", Name: "China Merchants Capital 2.85% MTN 2029",
				Class: ledger.ClassSecurity, Kind: ledger.SecurityBond, Venue: "SHCX"},
			// One unit is 100 yuan of face value, quoted near par.
			issuer: "CMCI", price: 10_080, lot: 10, holders: 120, lotsMin: 10, maxLots: 20,
		},
		{
			body: &ledger.IssueAsset{Symbol: "510300", Name: "Ping An CSI 300 ETF",
				Class: ledger.ClassSecurity, Kind: ledger.SecurityFund, Venue: "SZFE"},
			issuer: "PAFG", price: 392, lot: 100, holders: 140, lotsMin: 30, maxLots: 50,
		},
		{
			body: &ledger.IssueAsset{Symbol: "M2609", Name: "Soybean Meal Futures Sep 2026",
				Class: ledger.ClassSecurity, Kind: ledger.SecurityFuture, Venue: "TJCE", PositionLimit: 500},
			// The cash leg of a futures trade is its initial margin, about 3,000 yuan a lot.
			issuer: "TJCE", price: 300_000, lot: 1, holders: 200, lotsMin: 60, maxLots: 5,
		},
		receipt("WR-CU", "Copper Cathode Warehouse Receipt", "copper cathode", "Cu-CATH-1 GB/T 467", "SHCX", 7_520, 100),
		receipt("WR-RB", "Rebar Warehouse Receipt", "steel rebar", "HRB400E 20mm", "TJCE", 335, 1000),
		receipt("WR-SOY", "Soybean Warehouse Receipt", "soybean No.1", "DCE grade 1", "CQCE", 410, 1000),
		{
			body:   &ledger.IssueAsset{Symbol: "HT-PTS", Name: "Huatai Rewards Points", Class: ledger.ClassLoyalty},
			issuer: "HTSC", price: 1, lot: 100, holders: 300, lotsMin: 5, maxLots: 100,
		},
		{
			body:   &ledger.IssueAsset{Symbol: "UP-PTS", Name: "UnionPay Settlement Points", Class: ledger.ClassLoyalty},
			issuer: "UPGW", price: 1, lot: 100, holders: 300, lotsMin: 5, maxLots: 100,
		},
	}
}

// Demo members by role, as ledger.DemoMembers defines them.
var (
	brokers   = []string{"HTSC", "GTJA"}
	exchanges = []string{"CQCE", "SHCX", "SZFE", "TJCE"} // sorted, as RegisterAccount wants venues
)

const (
	bankID    = "BOCS"
	gatewayID = "UPGW"
)
