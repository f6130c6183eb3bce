package store

import (
	"bytes"
	"context"
	"fmt"
	"time"
)

// Balance is a row of balances: a current holding.
type Balance struct {
	Account []byte `gorm:"column:account;primaryKey"`
	Asset   string `gorm:"column:asset;primaryKey"`
	Amount  int64  `gorm:"column:amount"`
	Locked  int64  `gorm:"column:locked"`
	Height  int64  `gorm:"column:height"`
}

// TableName implements gorm's Tabler.
func (Balance) TableName() string { return "balances" }

// BalanceChange is a row of balance_history: a holding after a block that changed it. It is
// stored in a balance_chunks row with the holding's other changes of the same batch.
type BalanceChange struct {
	BlockTime time.Time `gorm:"column:block_time;primaryKey"`
	Height    int64     `gorm:"column:height;primaryKey"`
	Account   []byte    `gorm:"column:account;primaryKey"`
	Asset     string    `gorm:"column:asset;primaryKey"`
	Delta     int64     `gorm:"column:delta"`
	Amount    int64     `gorm:"column:amount"`
	Locked    int64     `gorm:"column:locked"`
}

// TableName implements gorm's Tabler.
func (BalanceChange) TableName() string { return "balance_history" }

// HoldingsQuery asks for holdings at a point in the chain's history. Account, Asset or both
// must be set. The point is At (a height) or AtTime (the last block at or before it); neither
// means the latest synced height.
type HoldingsQuery struct {
	Account []byte
	Asset   string
	At      int64
	AtTime  *time.Time
	// AfterAccount continues a by-asset listing after this account (keyset).
	AfterAccount []byte
	// Limit bounds the rows, 1 to MaxPage; 0 means MaxPage.
	Limit int
}

// Holding is one non-zero holding at the asked height.
type Holding struct {
	Account []byte `gorm:"column:account"`
	Asset   string `gorm:"column:asset"`
	Amount  int64  `gorm:"column:amount"`
	Locked  int64  `gorm:"column:locked"`
	// Height is the height of the last change at or below the asked height.
	Height int64 `gorm:"column:height"`
}

// Holdings is the answer: the block it reflects and the holdings, ordered by account then
// asset.
type Holdings struct {
	Height    int64
	BlockHash []byte
	BlockTime time.Time
	Holdings  []Holding
}

// HoldingsAt answers from balance history: for each account and asset, the last change at or
// below the height (holdingAtSQL).
func (db *DB) HoldingsAt(ctx context.Context, q HoldingsQuery) (*Holdings, error) {
	if len(q.Account) == 0 && q.Asset == "" {
		return nil, fmt.Errorf("holdings: an account or an asset is required: %w", ErrInvalid)
	}
	if q.Limit == 0 {
		q.Limit = MaxPage
	}
	if q.Limit < 1 || q.Limit > MaxPage {
		return nil, fmt.Errorf("holdings: limit %d: %w", q.Limit, ErrInvalid)
	}
	cur, err := db.Cursor(ctx)
	if err != nil {
		return nil, fmt.Errorf("holdings: %w", err)
	}
	if q.Asset != "" {
		if err := db.checkAssetIssued(ctx, q.Asset); err != nil {
			return nil, err
		}
	}
	blk, err := db.holdingsBlock(ctx, q, cur.Height)
	if err != nil {
		return nil, err
	}
	sql, args, empty := holdingsSQL(q, blk)
	if empty {
		return &Holdings{Height: blk.Height, BlockHash: blk.Hash, BlockTime: blk.Time}, nil
	}
	var rows []Holding
	if err := db.Gorm.WithContext(ctx).Raw(sql, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("holdings at %d: %w", blk.Height, err)
	}
	return &Holdings{Height: blk.Height, BlockHash: blk.Hash, BlockTime: blk.Time, Holdings: rows}, nil
}

// checkAssetIssued fails with ErrNotFound if no one has issued the asset: its holdings
// would otherwise answer as those of one that no one holds.
func (db *DB) checkAssetIssued(ctx context.Context, symbol string) error {
	var n int64
	if err := db.Gorm.WithContext(ctx).Model(&Asset{}).Where("symbol = ?", symbol).Count(&n).Error; err != nil {
		return fmt.Errorf("holdings: asset %q: %w", symbol, err)
	}
	if n == 0 {
		return fmt.Errorf("holdings: no asset %q: %w", symbol, ErrNotFound)
	}
	return nil
}

// holdingsBlock is the block q asks for: the last at its time, the one at its height, or
// the synced one.
func (db *DB) holdingsBlock(ctx context.Context, q HoldingsQuery, synced int64) (*Block, error) {
	var blk *Block
	var err error
	switch {
	case q.AtTime != nil:
		blk, err = db.BlockAtTime(ctx, *q.AtTime)
	case q.At == 0:
		blk, err = db.Block(ctx, synced)
	case q.At < 0 || q.At > synced:
		return nil, fmt.Errorf("holdings at height %d: synced to %d: %w", q.At, synced, ErrNotFound)
	default:
		blk, err = db.Block(ctx, q.At)
	}
	if err != nil {
		return nil, fmt.Errorf("holdings: %w", err)
	}
	return blk, nil
}

// holdingsSQL is the query for q's page of holdings at blk, with its arguments; empty
// reports a page known to be empty without a query.
func holdingsSQL(q HoldingsQuery, blk *Block) (sql string, args []any, empty bool) {
	if q.Asset != "" {
		// A probe for each account in address order, so that a page stops once it has its
		// holders. Every holder is a registered account.
		args = []any{blk.Height, q.Asset, blk.Height, blk.Time}
		where := ""
		if len(q.Account) > 0 {
			where += " AND ac.address = ?"
			args = append(args, q.Account)
		}
		if len(q.AfterAccount) > 0 {
			where += " AND ac.address > ?"
			args = append(args, q.AfterAccount)
		}
		sql = `SELECT ac.address AS account, h.* FROM accounts ac ` + fmt.Sprintf(holdingAtSQL, "ac.address", "?") + `
		WHERE (h.amount > 0 OR h.locked > 0)` + where + `
		ORDER BY ac.address LIMIT ?`
		return sql, append(args, q.Limit), false
	}
	// One account: a probe for each asset. Its one account is after AfterAccount or the page
	// is empty.
	if len(q.AfterAccount) > 0 && bytes.Compare(q.Account, q.AfterAccount) <= 0 {
		return "", nil, true
	}
	args = []any{q.Account, blk.Height, q.Account, blk.Height, blk.Time, q.Limit}
	sql = `SELECT ?::bytea AS account, h.* FROM assets a ` + fmt.Sprintf(holdingAtSQL, "?", "a.symbol") + `
		WHERE h.amount > 0 OR h.locked > 0
		ORDER BY a.symbol LIMIT ?`
	return sql, args, false
}

// holdingAtSQL is the probe of one holding at a height, a lateral subquery whose account and
// asset are the two %s: the last chunk that starts at or below the height, along the key
// (account, asset, height), and in it the last change at or below (width_bucket counts the
// chunk's heights up to the height). Its parameters are the height, the account or asset
// given as ?, the height again and the block's time, which bounds the scan so that months
// after it are never read. It yields asset, amount, locked and height.
const holdingAtSQL = `CROSS JOIN LATERAL (SELECT asset, amounts[k] AS amount, locked[k] AS locked, heights[k] AS height
		FROM (SELECT asset, heights, amounts, locked, width_bucket(?::bigint, heights) AS k FROM balance_chunks bc
			WHERE bc.account = %s AND bc.asset = %s AND bc.height <= ? AND bc.block_time <= ?
			ORDER BY bc.height DESC LIMIT 1) c) h`

// Balances returns current holdings of an account, by asset.
func (db *DB) Balances(ctx context.Context, account []byte) ([]Balance, error) {
	var out []Balance
	if err := db.Gorm.WithContext(ctx).Where("account = ?", account).Order("asset").Limit(MaxPage).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("balances: %w", err)
	}
	return out, nil
}
