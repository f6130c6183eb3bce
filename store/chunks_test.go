package store_test

import (
	"context"
	"testing"

	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

// TestBalanceChunks writes 300 blocks in one batch, with INSERT and with COPY: a holding
// that changes in every block fills a chunk of MaxChunkChanges and goes on in another, one
// that changes every 100 blocks fits one; both ways store the same rows, the holdings at a
// height inside a chunk are that height's, and the trim cuts a chunk that runs past the
// cursor back to it.
func TestBalanceChunks(t *testing.T) {
	ctx := context.Background()
	blocks := func() []*store.BlockRows {
		var out []*store.BlockRows
		for h := int64(1); h <= 300; h++ {
			b := block(h, 1, 10*(h-1))
			if h == 1 {
				b.NewAccounts = []store.Account{{Address: addr(2), PubKey: make([]byte, 32), Sponsor: "SZFE", Kind: "institution",
					OwnerRef: make([]byte, 32), Status: "active", Height: 1, UpdatedHeight: 1}}
			}
			if h%100 == 1 {
				b.Changes = append(b.Changes, store.BalanceChange{BlockTime: b.Block.Time, Height: h, Account: addr(1), Asset: "CNYS", Delta: 1, Amount: h, Locked: h / 2})
			}
			out = append(out, b)
		}
		return out
	}
	write := func(copyMin int) *store.DB {
		db := pgtest.New(t)
		if _, err := db.InitGenesis(ctx, genesis()); err != nil {
			t.Fatal(err)
		}
		res, err := db.WriteBlocks(ctx, blocks(), store.WriteOptions{CopyMinRows: copyMin})
		if err != nil || res.Written != 300 || res.Copy != (copyMin == 1) {
			t.Fatalf("write: %+v %v", res, err)
		}
		return db
	}
	inserted, copied := write(1<<30), write(1)

	chunks := func(db *store.DB) string {
		t.Helper()
		var s string
		if err := db.Pool.QueryRow(ctx, `SELECT string_agg(format('%s:%s-%s/%s', get_byte(account, 19), height, last_height, cardinality(heights)), ' '
			ORDER BY account, asset, height) FROM balance_chunks`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got, want := chunks(inserted), "1:1-201/3 2:1-256/256 2:257-300/44"; got != want {
		t.Errorf("chunks %s, want %s", got, want)
	}
	for _, table := range []string{"balance_chunks", "balance_history", "balances"} {
		if a, b := pgtest.Checksum(t, inserted, table), pgtest.Checksum(t, copied, table); a != b {
			t.Errorf("%s differs between INSERT and COPY", table)
		}
	}

	for _, tt := range []struct {
		name    string
		q       store.HoldingsQuery
		account byte
		amount  int64
		locked  int64
		height  int64
	}{
		{"first change of a chunk", store.HoldingsQuery{Account: addr(2), At: 1}, 2, 10, 0, 1},
		{"last change of a full chunk", store.HoldingsQuery{Account: addr(2), At: 256}, 2, 2560, 0, 256},
		{"first change of the next", store.HoldingsQuery{Account: addr(2), At: 257}, 2, 2570, 0, 257},
		{"the latest", store.HoldingsQuery{Account: addr(2)}, 2, 3000, 0, 300},
		{"between changes", store.HoldingsQuery{Account: addr(1), At: 150}, 1, 101, 50, 101},
		{"by asset, between changes", store.HoldingsQuery{Asset: "CNYS", At: 250, Limit: 1}, 1, 201, 100, 201},
		{"by asset, after an account", store.HoldingsQuery{Asset: "CNYS", At: 250, AfterAccount: addr(1)}, 2, 2500, 0, 250},
	} {
		for _, db := range []*store.DB{inserted, copied} {
			h, err := db.HoldingsAt(ctx, tt.q)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if len(h.Holdings) != 1 {
				t.Fatalf("%s: %+v", tt.name, h.Holdings)
			}
			got := h.Holdings[0]
			if got.Account[19] != tt.account || got.Amount != tt.amount || got.Locked != tt.locked || got.Height != tt.height {
				t.Errorf("%s: %+v, want account %d amount %d locked %d at %d", tt.name, got, tt.account, tt.amount, tt.locked, tt.height)
			}
		}
	}

	// Changes above the cursor written by hand: one chunk past it, one that runs past it.
	before := pgtest.Checksum(t, inserted, "balance_chunks")
	for _, q := range []string{
		`INSERT INTO blocks (height, hash, time, proposer, app_hash, tx_count, failed_count)
			SELECT 301, '\x01', time + interval '1 hour', '', '', 0, 0 FROM blocks WHERE height = 300`,
		`UPDATE balance_chunks SET heights = heights || 301::bigint, deltas = deltas || 0::bigint, amounts = amounts || 7::bigint,
			locked = locked || 0::bigint, last_height = 301 WHERE get_byte(account, 19) = 1`,
		`INSERT INTO balance_chunks SELECT b.time, 301, 301, account, asset, '{301}', '{0}', '{9}', '{0}'
			FROM balance_chunks, blocks b WHERE b.height = 301 AND last_height = 300`,
	} {
		if _, err := inserted.Pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	n, err := inserted.TrimPastCursor(ctx)
	if err != nil || n != 3 {
		t.Fatalf("trim: %d rows, %v; want 3", n, err)
	}
	if pgtest.Checksum(t, inserted, "balance_chunks") != before {
		t.Errorf("after the trim the chunks are %s", chunks(inserted))
	}
}
