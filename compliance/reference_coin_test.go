package compliance

import (
	"fmt"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// The reference of the reserve rules (RESERVE, ATTEST-AGE), each from its text in
// docs/rules.md, over the same decoded history as reference_test.go. Their subject is the
// coin, an asset: the docs name no member for them.

// refReserve is RESERVE: (a) a coin mint not preceded, since the previous mint, by an
// attestation that raised the reserve (attested more than the reserve before it), or after
// which the supply exceeds the last attested reserve; (b) a block at whose end the supply
// exceeds the last attested reserve, once per uncovered episode (the previous block end
// was covered). Before any attestation the reserve is nothing.
func (l *refLedger) refReserve() []refFinding {
	var supply, reserve int64
	raised, covered := false, true
	var out []refFinding
	j := 0
	for _, b := range l.blocks {
		for ; j < len(l.txs) && l.txs[j].height == b.Height; j++ {
			t := &l.txs[j]
			for _, ev := range t.events {
				switch e := ev.(type) {
				case *ledger.ReservesEvent:
					raised = raised || int64(e.Amount) > reserve
					reserve = int64(e.Amount)
				case *ledger.BurnEvent:
					if e.Asset == ledger.CoinSymbol {
						supply -= int64(e.Amount)
					}
				case *ledger.MintEvent:
					if e.Asset != ledger.CoinSymbol {
						continue
					}
					supply += int64(e.Amount)
					if !raised || supply > reserve {
						out = append(out, refFinding{Rule: RuleReserve, Subject: ledger.CoinSymbol, WindowKey: "mint:" + t.hash,
							Severity: "critical", Height: t.height, Member: "-",
							Figures: refFigures(map[string]any{"minted": e.Amount, "supply": supply, "reserve": reserve, "reserve_raised": raised})})
					}
					raised = false
				}
			}
		}
		if supply > reserve && covered {
			out = append(out, refFinding{Rule: RuleReserve, Subject: ledger.CoinSymbol, WindowKey: fmt.Sprintf("uncovered:%d", b.Height),
				Severity: "critical", Height: b.Height, Member: "-",
				Figures: refFigures(map[string]any{"supply": supply, "reserve": reserve, "shortfall": supply - reserve})})
		}
		covered = supply <= reserve
	}
	return out
}

// refAttestAge is ATTEST-AGE: the first block whose time is more than 31 days after the
// block time of the last attestation (as of the block's end), once per attestation.
func (l *refLedger) refAttestAge() []refFinding {
	const maxAge = 31 * 86400
	var last *refTx
	reported := false
	var out []refFinding
	j := 0
	for _, b := range l.blocks {
		for ; j < len(l.txs) && l.txs[j].height == b.Height; j++ {
			for _, ev := range l.txs[j].events {
				if _, ok := ev.(*ledger.ReservesEvent); ok {
					last, reported = &l.txs[j], false
				}
			}
		}
		if last == nil || reported || b.Time.Sub(last.time) <= maxAge*time.Second {
			continue
		}
		reported = true
		out = append(out, refFinding{Rule: RuleAttestAge, Subject: ledger.CoinSymbol, WindowKey: fmt.Sprintf("attestation:%d", last.height),
			Severity: "high", Height: b.Height, Member: "-",
			Figures: refFigures(map[string]any{"attested_at": last.time.UTC(), "age_seconds": int64(b.Time.Sub(last.time) / time.Second),
				"max_age_seconds": maxAge})})
	}
	return out
}
