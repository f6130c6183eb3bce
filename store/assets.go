package store

import (
	"context"
	"fmt"
)

// Asset is a row of assets.
type Asset struct {
	Symbol        string `gorm:"column:symbol;primaryKey"`
	Name          string `gorm:"column:name"`
	Class         string `gorm:"column:class"`
	SecurityKind  string `gorm:"column:security_kind"`
	Decimals      int16  `gorm:"column:decimals"`
	Issuer        string `gorm:"column:issuer"`
	Venue         string `gorm:"column:venue"`
	Commodity     string `gorm:"column:commodity"`
	Grade         string `gorm:"column:grade"`
	Warehouse     string `gorm:"column:warehouse"`
	Unit          string `gorm:"column:unit"`
	PositionLimit int64  `gorm:"column:position_limit"`
	Status        string `gorm:"column:status"`
	Supply        int64  `gorm:"column:supply"`
	Height        int64  `gorm:"column:height"`
	UpdatedHeight int64  `gorm:"column:updated_height"`
}

// TableName implements gorm's Tabler.
func (Asset) TableName() string { return "assets" }

// Assets lists every asset by symbol, at most limit (1 to 10,000).
func (db *DB) Assets(ctx context.Context, limit int) ([]Asset, error) {
	if limit < 1 || limit > 10_000 {
		return nil, fmt.Errorf("assets: limit %d: %w", limit, ErrInvalid)
	}
	var out []Asset
	if err := db.Gorm.WithContext(ctx).Order("symbol").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("assets: %w", err)
	}
	return out, nil
}
