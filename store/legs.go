package store

import "time"

// TransferLeg is a row of the transfer_legs view: a movement of an asset between two
// accounts. A plain transfer's leg is its transaction row read another way, and is not
// stored; the others are rows of settlement_legs.
type TransferLeg struct {
	BlockTime time.Time `gorm:"column:block_time;primaryKey"`
	Height    int64     `gorm:"column:height;primaryKey"`
	TxIdx     int32     `gorm:"column:tx_idx;primaryKey"`
	Seq       int16     `gorm:"column:seq;primaryKey"`
	Leg       string    `gorm:"column:leg"`
	From      []byte    `gorm:"column:from_addr"`
	To        []byte    `gorm:"column:to_addr"`
	Asset     string    `gorm:"column:asset"`
	Amount    int64     `gorm:"column:amount"`
	// TxHash is the hash of the leg's transaction; empty for a block's own leg (TxIdx -1).
	TxHash []byte `gorm:"column:tx_hash"`
}

// TableName implements gorm's Tabler: reads see every leg.
func (TransferLeg) TableName() string { return "transfer_legs" }
