package store_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var t0 = time.Date(2026, 1, 31, 21, 0, 0, 0, time.UTC)

func genesis() store.Genesis {
	return store.Genesis{
		ChainID: "c1", Time: t0,
		Members:  []store.Member{{ID: "SZFE", Name: "x", Roles: store.StringList{"exchange"}, Operator: make([]byte, 20)}},
		Accounts: []store.Account{{Address: addr(1), PubKey: make([]byte, 32), Sponsor: "SZFE", Kind: "institution", OwnerRef: make([]byte, 32), Status: "active"}},
		Assets:   []store.Asset{{Symbol: "CNYS", Name: "coin", Class: "coin", Decimals: 2, Issuer: "BOCS", Status: "active"}},
	}
}

func addr(b byte) []byte { a := make([]byte, 20); a[19] = b; return a }

// block is a block at height h, an hour per height after t0, moving amount of CNYS to
// account 2 on top of bal.
func block(h int64, hash byte, bal int64) *store.BlockRows {
	t := t0.Add(time.Duration(h) * time.Hour)
	return &store.BlockRows{
		Block:   store.Block{Height: h, Hash: []byte{hash, byte(h)}, Time: t, Proposer: []byte{}, AppHash: []byte{}, TxCount: 1},
		Txs:     []store.Transaction{{BlockTime: t, Height: h, Idx: 0, Hash: []byte{byte(h)}, Type: "mint", Member: "BOCS", Asset: "CNYS", Amount: 10}},
		Changes: []store.BalanceChange{{BlockTime: t, Height: h, Account: addr(2), Asset: "CNYS", Delta: 10, Amount: bal + 10}},
		Supply:  []store.SupplyPoint{{Asset: "CNYS", Height: h, BlockTime: t, Supply: bal + 10}},
		Rollups: []store.RollupDelta{{Day: store.MarketDay(t), Member: "BOCS", Asset: "CNYS", Type: "mint", TxCount: 1, Value: 10}},
	}
}

func TestWriteBlocks(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	if _, err := db.WriteBlocks(ctx, []*store.BlockRows{block(1, 0, 0)}, store.WriteOptions{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("before genesis: %v", err)
	}
	if _, err := db.InitGenesis(ctx, genesis()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.InitGenesis(ctx, genesis()); err != nil {
		t.Fatalf("genesis again: %v", err)
	}
	g := genesis()
	g.ChainID = "other"
	if _, err := db.InitGenesis(ctx, g); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("other chain: %v", err)
	}
	tests := []struct {
		name    string
		blocks  []*store.BlockRows
		copy    int
		written int
		cursor  int64
		err     error
	}{
		{"first", []*store.BlockRows{block(1, 0, 0)}, 0, 1, 1, nil},
		{"gap", []*store.BlockRows{block(3, 0, 10)}, 0, 0, 0, store.ErrConflict},
		{"batch across a month with copy", []*store.BlockRows{block(2, 0, 10), block(3, 0, 20)}, 1, 2, 3, nil},
		{"replay", []*store.BlockRows{block(2, 0, 10), block(3, 0, 20)}, 0, 0, 3, nil},
		{"replay and new", []*store.BlockRows{block(3, 0, 20), block(4, 0, 30)}, 0, 1, 4, nil},
		{"divergent replay", []*store.BlockRows{block(4, 9, 30), block(5, 0, 40)}, 0, 0, 0, store.ErrDivergence},
	}
	for _, tt := range tests {
		res, err := db.WriteBlocks(ctx, tt.blocks, store.WriteOptions{CopyMinRows: tt.copy})
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Fatalf("%s: err %v, want %v", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || res.Written != tt.written || res.Cursor != tt.cursor {
			t.Fatalf("%s: %+v %v", tt.name, res, err)
		}
	}
	// Partitions for January, February (block 3 crossed into it) and the month ahead.
	var parts int
	db.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'balance_chunks'::regclass").Scan(&parts)
	if parts != 3 {
		t.Errorf("%d partitions, want 3", parts)
	}
	var rollup store.DailyRollup
	if err := db.Gorm.Where("member = 'BOCS'").Order("day").Take(&rollup).Error; err != nil {
		t.Fatal(err)
	}
	vols, err := db.MemberDailyVolume(ctx, "BOCS", "", t0.AddDate(0, 0, -1), t0.AddDate(0, 0, 2))
	if err != nil || len(vols) != 1 || vols[0].TxCount != 4 || vols[0].Value != "40" {
		t.Fatalf("daily volume %+v %v", vols, err)
	}
	a, _ := db.Assets(ctx, 10)
	if len(a) != 1 || a[0].Supply != 40 {
		t.Fatalf("assets %+v", a)
	}
	h, err := db.HoldingsAt(ctx, store.HoldingsQuery{Account: addr(2), At: 2})
	if err != nil || len(h.Holdings) != 1 || h.Holdings[0].Amount != 20 || h.Height != 2 {
		t.Fatalf("holdings %+v %v", h, err)
	}
	if _, err := db.HoldingsAt(ctx, store.HoldingsQuery{At: 2}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("no filter: %v", err)
	}
	if _, err := db.Block(ctx, 99); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing block: %v", err)
	}
}

// TestTransactRetries reruns a transaction that lost a serialization race, a bounded number
// of times.
func TestTransactRetries(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	serialization := &pgconn.PgError{Code: "40001"}
	tests := []struct {
		name     string
		failures int32
		wantRuns int32
		wantErr  bool
	}{
		{"succeeds first time", 0, 1, false},
		{"retried then succeeds", 2, 3, false},
		{"gives up", 100, store.DefaultMaxRetries + 1, true},
	}
	for _, tt := range tests {
		var runs atomic.Int32
		err := db.Transact(ctx, func(tx *gorm.DB) error {
			if runs.Add(1) <= tt.failures {
				return serialization
			}
			return tx.Exec("SELECT 1").Error
		})
		if (err != nil) != tt.wantErr || runs.Load() != tt.wantRuns {
			t.Errorf("%s: err %v after %d runs, want %d", tt.name, err, runs.Load(), tt.wantRuns)
		}
	}
	other := errors.New("other")
	var runs int
	if err := db.Transact(ctx, func(*gorm.DB) error { runs++; return other }); !errors.Is(err, other) || runs != 1 {
		t.Fatalf("non-retryable error retried %d times: %v", runs, err)
	}
}

func TestStringList(t *testing.T) {
	tests := []struct {
		in   any
		want []string
	}{
		{"{}", []string{}},
		{"{SZFE}", []string{"SZFE"}},
		{[]byte("{SZFE,TJCE}"), []string{"SZFE", "TJCE"}},
	}
	for _, tt := range tests {
		var l store.StringList
		if err := l.Scan(tt.in); err != nil || len(l) != len(tt.want) {
			t.Fatalf("%v: %v %v", tt.in, l, err)
		}
		for i := range l {
			if l[i] != tt.want[i] {
				t.Fatalf("%v: %v", tt.in, l)
			}
		}
	}
	if _, err := (store.StringList{"a b"}).Value(); err == nil {
		t.Fatal("element needing quotes accepted")
	}
}
