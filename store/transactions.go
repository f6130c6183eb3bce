package store

import (
	"context"
	"fmt"
	"time"
)

// Transaction is a row of transactions.
type Transaction struct {
	BlockTime    time.Time `gorm:"column:block_time;primaryKey"`
	Height       int64     `gorm:"column:height;primaryKey"`
	Idx          int32     `gorm:"column:idx;primaryKey"`
	Hash         []byte    `gorm:"column:hash"`
	Type         string    `gorm:"column:type"`
	Signer       []byte    `gorm:"column:signer"`
	Member       string    `gorm:"column:member"`
	Nonce        int64     `gorm:"column:nonce"`
	Asset        string    `gorm:"column:asset"`
	Amount       int64     `gorm:"column:amount"`
	Counterparty []byte    `gorm:"column:counterparty"`
	Code         int32     `gorm:"column:code"`
	Reason       string    `gorm:"column:reason"`
	Memo         string    `gorm:"column:memo"`
}

// TableName implements gorm's Tabler.
func (Transaction) TableName() string { return "transactions" }

// TxKey is a keyset position in the transaction list, newest first.
type TxKey struct {
	BlockTime time.Time
	Height    int64
	Idx       int32
}

// TxFilter selects a page of transactions.
type TxFilter struct {
	// Member and Asset filter when set; the index by their hashes and time serves both set.
	Member, Asset string
	// After is the last row of the previous page; nil for the first page.
	After *TxKey
	// Limit is the page size, 1 to MaxPage.
	Limit int
}

// MaxPage bounds every list query.
const MaxPage = 1000

// Transactions returns a page of transactions, newest first, by keyset.
func (db *DB) Transactions(ctx context.Context, f TxFilter) ([]Transaction, error) {
	if f.Limit < 1 || f.Limit > MaxPage {
		return nil, fmt.Errorf("transactions: limit %d: %w", f.Limit, ErrInvalid)
	}
	q := db.Gorm.WithContext(ctx).Order("block_time DESC, height DESC, idx DESC").Limit(f.Limit)
	// The member and asset index is keyed by the values' hashes (migration 00011): the hash
	// lets the planner use it, the value drops rows of another value with the same hash.
	if f.Member != "" {
		q = q.Where("hashtext(member) = hashtext(?) AND member = ?", f.Member, f.Member)
	}
	if f.Asset != "" {
		q = q.Where("hashtext(asset) = hashtext(?) AND asset = ?", f.Asset, f.Asset)
	}
	if f.After != nil {
		q = q.Where("(block_time, height, idx) < (?, ?, ?)", f.After.BlockTime, f.After.Height, f.After.Idx)
	}
	var out []Transaction
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("transactions: %w", err)
	}
	return out, nil
}

// CountTransactions counts the transactions up to a height.
func (db *DB) CountTransactions(ctx context.Context, height int64) (int64, error) {
	var n int64
	if err := db.Gorm.WithContext(ctx).Model(&Transaction{}).Where("height <= ?", height).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count transactions: %w", err)
	}
	return n, nil
}
