package ledger

import (
	"runtime"
	"testing"
	"time"
)

// TestClosedSettlementsLeaveMemory: a confirmed or failed settlement is read back from the
// store, not held in memory, and still answers as before: a second close is refused as
// closed (not unknown), queries at the height it was open see it open, and a restart keeps
// only the open ones in memory.
func TestClosedSettlementsLeaveMemory(t *testing.T) {
	c := newChain(t)
	alice := c.party("alice", "A", "SZFE")
	c.party("bob", "B", "SZFE")
	a, b := addr("alice"), addr("bob")
	c.stock("600001", a, 5_000)
	lock := func(qty uint64) Hash {
		r := c.must(&LockForSettlement{Buyer: b, Asset: "600001", Quantity: qty, Gateway: "UPGW", FiatAmount: qty * 100, Deadline: c.time.Add(time.Hour).Unix()}, alice)
		return settlementID(t, r)
	}
	done, open := lock(300), lock(40)
	openHeight := c.height
	c.must(&ConfirmPayment{Settlement: done, PaymentRef: "P1"}, member("UPGW"))

	inMemory := func() (n int, has bool) {
		c.app.View(func(st *State) { n = len(st.Settlements); _, has = st.Settlements[done] })
		return n, has
	}
	check := func(when string) {
		t.Helper()
		if n, has := inMemory(); has || n != 1 {
			t.Fatalf("%s: %d settlements in memory (the confirmed one: %v), want only the open one", when, n, has)
		}
		var se *Settlement
		var err error
		c.app.View(func(st *State) { se, err = st.Settlement(done) })
		if err != nil || se == nil || se.State != SettlementConfirmed {
			t.Fatalf("%s: confirmed settlement reads %+v, %v", when, se, err)
		}
		r := c.exec(c.sign(&ConfirmPayment{Settlement: done, PaymentRef: "P2"}, member("UPGW")))
		if Code(r.Code) != CodeSettlementClosed {
			t.Fatalf("%s: second confirm gave code %d (%s), want settlement_closed", when, r.Code, r.Log)
		}
		var then Settlement
		if code := c.query(t, "/settlement/"+done.String(), openHeight, &then); code != 0 || then.State != SettlementLocked {
			t.Fatalf("%s: at height %d the settlement reads %+v (code %d), want locked", when, openHeight, then, code)
		}
		var all int
		c.app.View(func(st *State) {
			err = st.EachSettlement(func(*Settlement) error { all++; return nil })
		})
		if err != nil || all != 2 {
			t.Fatalf("%s: EachSettlement saw %d, %v; want 2", when, all, err)
		}
	}
	check("live")

	c.app.Close()
	app, err := NewApp(Config{Dir: c.dir, CheckInvariants: true})
	if err != nil {
		t.Fatal(err)
	}
	c.app = app
	check("after a restart")
	c.must(&ConfirmPayment{Settlement: open, PaymentRef: "P3"}, member("UPGW"))
	if n, _ := inMemory(); n != 0 {
		t.Fatalf("%d settlements in memory after the last one closed", n)
	}
}

// TestHeapFlatOverSettlements runs blocks of gateway settlements, each locked and confirmed,
// through the app as fast as it executes them, and measures the live heap after a forced
// collection: closed settlements must not stay in memory. Holding them grew the heap by
// about 200 bytes per settlement (4 MB over this test's 20,000) in each node of a process.
func TestHeapFlatOverSettlements(t *testing.T) {
	c := newChain(t)
	seller := c.party("alice", "A", "SZFE")
	c.party("bob", "B", "SZFE")
	c.stock("600001", addr("alice"), 1_000_000)
	settle := func(blocks, perBlock int) {
		t.Helper()
		for range blocks {
			txs := make([][]byte, 0, 2*perBlock)
			for range perBlock {
				lock := c.sign(&LockForSettlement{Buyer: addr("bob"), Asset: "600001", Quantity: 1, Gateway: "UPGW", FiatAmount: 100, Deadline: c.time.Add(time.Hour).Unix()}, seller)
				txs = append(txs, lock, c.sign(&ConfirmPayment{Settlement: TxHash(lock), PaymentRef: "P"}, member("UPGW")))
			}
			for i, r := range c.block(txs...).TxResults {
				if r.Code != 0 {
					t.Fatalf("tx %d: code %d: %s", i, r.Code, r.Log)
				}
			}
			delete(c.history, c.height) // the harness's record of blocks, not the app's
		}
	}
	settle(20, 250) // warm-up: maps and caches reach their working size
	before := liveHeap()
	settle(80, 250)
	after := liveHeap()
	const bound = 1 << 20
	if grew := int64(after) - int64(before); grew > bound {
		t.Fatalf("live heap grew by %d bytes over 20,000 closed settlements (%d to %d), bound %d", grew, before, after, bound)
	}
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
