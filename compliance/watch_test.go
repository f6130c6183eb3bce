package compliance

import (
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// TestWatchIgnoresRegulatorFreeze freezes and unfreezes a watch-listed account: the
// regulator acted, not the party, so neither is a WATCH violation; a payment to it is.
func TestWatchIgnoresRegulatorFreeze(t *testing.T) {
	b := newBuilder(t, time.Date(2026, 11, 2, 10, 0, 0, 0, shanghai))
	var res uint64
	a := b.account(ledger.KindIndividual, "")
	payer := b.account(ledger.KindIndividual, "")
	b.fund(payer, 1_000_00, &res)
	freeze := b.sign(&ledger.Freeze{Account: addr(a), Reason: "watch"}, demoKey("regulator"))
	b.block(time.Second, freeze)
	unfreeze := b.sign(&ledger.Unfreeze{Account: addr(a), Reason: "watch"}, demoKey("regulator"))
	b.block(time.Second, unfreeze)
	pay := b.sign(&ledger.Transfer{To: addr(a), Asset: ledger.CoinSymbol, Amount: 100_00}, payer)
	b.block(time.Second, pay)
	listed := addr(a)
	b.watch(listed.String())
	keys := map[string]bool{}
	for _, v := range b.violations() {
		if v.RuleID == RuleWatch {
			keys[v.WindowKey] = true
		}
	}
	for name, tx := range map[string][]byte{"freeze": freeze, "unfreeze": unfreeze} {
		if h := ledger.TxHash(tx); keys[hashHex(h[:])] {
			t.Errorf("the regulator's %s of the listed account is a WATCH violation", name)
		}
	}
	if h := ledger.TxHash(pay); !keys[hashHex(h[:])] {
		t.Errorf("a payment to the listed account is not a WATCH violation")
	}
}
