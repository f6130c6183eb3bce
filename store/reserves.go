package store

import "time"

// ReserveAttestation is a row of reserve_attestations.
type ReserveAttestation struct {
	Height     int64     `gorm:"column:height;primaryKey"`
	TxIdx      int32     `gorm:"column:tx_idx;primaryKey"`
	BlockTime  time.Time `gorm:"column:block_time"`
	Amount     int64     `gorm:"column:amount"`
	AsOf       time.Time `gorm:"column:as_of"`
	Report     []byte    `gorm:"column:report"`
	CoinSupply int64     `gorm:"column:coin_supply"`
}

// TableName implements gorm's Tabler.
func (ReserveAttestation) TableName() string { return "reserve_attestations" }

// SupplyPoint is a row of supply_history: an asset's supply after a block.
type SupplyPoint struct {
	Asset     string    `gorm:"column:asset;primaryKey"`
	Height    int64     `gorm:"column:height;primaryKey"`
	BlockTime time.Time `gorm:"column:block_time"`
	Supply    int64     `gorm:"column:supply"`
}

// TableName implements gorm's Tabler.
func (SupplyPoint) TableName() string { return "supply_history" }
