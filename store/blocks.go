package store

import (
	"context"
	"fmt"
	"time"
)

// Block is a row of blocks.
type Block struct {
	Height      int64     `gorm:"column:height;primaryKey"`
	Hash        []byte    `gorm:"column:hash"`
	Time        time.Time `gorm:"column:time"`
	Proposer    []byte    `gorm:"column:proposer"`
	AppHash     []byte    `gorm:"column:app_hash"`
	TxCount     int32     `gorm:"column:tx_count"`
	FailedCount int32     `gorm:"column:failed_count"`
}

// TableName implements gorm's Tabler.
func (Block) TableName() string { return "blocks" }

// Block returns the block at a height.
func (db *DB) Block(ctx context.Context, height int64) (*Block, error) {
	var b Block
	if err := db.Gorm.WithContext(ctx).Where("height = ?", height).Take(&b).Error; err != nil {
		return nil, notFound(err, fmt.Sprintf("block %d", height))
	}
	return &b, nil
}

// BlockAtTime returns the last block at or before t.
func (db *DB) BlockAtTime(ctx context.Context, t time.Time) (*Block, error) {
	var b Block
	err := db.Gorm.WithContext(ctx).Where("time <= ?", t).Order("time DESC, height DESC").Take(&b).Error
	if err != nil {
		return nil, notFound(err, fmt.Sprintf("block at %s", t.UTC().Format(time.RFC3339)))
	}
	return &b, nil
}

// Cursor is the sync cursor: how far the database has followed the chain.
type Cursor struct {
	ID         int16      `gorm:"column:id;primaryKey"`
	ChainID    string     `gorm:"column:chain_id"`
	Height     int64      `gorm:"column:height"`
	Hash       []byte     `gorm:"column:hash"`
	BlockTime  time.Time  `gorm:"column:block_time"`
	UpdatedAt  time.Time  `gorm:"column:updated_at"`
	HaltedAt   *time.Time `gorm:"column:halted_at"`
	HaltReason string     `gorm:"column:halt_reason"`
}

// TableName implements gorm's Tabler.
func (Cursor) TableName() string { return "sync_cursor" }

// Cursor returns the sync cursor; ErrNotFound before genesis is written.
func (db *DB) Cursor(ctx context.Context) (*Cursor, error) {
	var c Cursor
	if err := db.Gorm.WithContext(ctx).Where("id = 1").Take(&c).Error; err != nil {
		return nil, notFound(err, "sync cursor")
	}
	return &c, nil
}

// Halt records an alarm on the cursor: the sync stopped on something a person must look at.
// It stays until cleared with ClearHalt.
func (db *DB) Halt(ctx context.Context, reason string) error {
	err := db.Gorm.WithContext(ctx).Model(&Cursor{}).Where("id = 1").
		Updates(map[string]any{"halted_at": time.Now().UTC(), "halt_reason": reason}).Error
	if err != nil {
		return fmt.Errorf("record halt: %w", err)
	}
	return nil
}

// ClearHalt clears the alarm once an operator has dealt with it.
func (db *DB) ClearHalt(ctx context.Context) error {
	err := db.Gorm.WithContext(ctx).Model(&Cursor{}).Where("id = 1").
		Updates(map[string]any{"halted_at": nil, "halt_reason": ""}).Error
	if err != nil {
		return fmt.Errorf("clear halt: %w", err)
	}
	return nil
}
