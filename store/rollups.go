package store

import (
	"context"
	"fmt"
	"time"
)

// DailyRollup is a row of daily_rollups. Value is a decimal string: the column is
// numeric(40,0), as a day's sum of int64 amounts can exceed int64.
type DailyRollup struct {
	Day         time.Time `gorm:"column:day;primaryKey"`
	Member      string    `gorm:"column:member;primaryKey"`
	Asset       string    `gorm:"column:asset;primaryKey"`
	TxType      string    `gorm:"column:tx_type;primaryKey"`
	TxCount     int64     `gorm:"column:tx_count"`
	FailedCount int64     `gorm:"column:failed_count"`
	Value       string    `gorm:"column:value"`
}

// TableName implements gorm's Tabler.
func (DailyRollup) TableName() string { return "daily_rollups" }

// MarketZone is China Standard Time, the market's day for the rollups; China keeps no DST.
var MarketZone = time.FixedZone("CST", 8*3600)

// MarketDay is the calendar day of t in MarketZone, as midnight UTC of that date (how a
// PostgreSQL date column reads back).
func MarketDay(t time.Time) time.Time {
	y, m, d := t.In(MarketZone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// DailyVolume is one day's totals for a member.
type DailyVolume struct {
	Day         time.Time `gorm:"column:day"`
	TxCount     int64     `gorm:"column:tx_count"`
	FailedCount int64     `gorm:"column:failed_count"`
	Value       string    `gorm:"column:value"`
}

// MemberDailyVolume sums a member's rollups per day over [from, to] (market days), optionally
// for one asset, oldest first. At most 366 days.
func (db *DB) MemberDailyVolume(ctx context.Context, member, asset string, from, to time.Time) ([]DailyVolume, error) {
	if to.Before(from) || to.Sub(from) > 366*24*time.Hour {
		return nil, fmt.Errorf("daily volume %s..%s: %w", from.Format(time.DateOnly), to.Format(time.DateOnly), ErrInvalid)
	}
	q := db.Gorm.WithContext(ctx).Model(&DailyRollup{}).
		Select("day, sum(tx_count)::bigint AS tx_count, sum(failed_count)::bigint AS failed_count, sum(value)::text AS value").
		Where("member = ? AND day BETWEEN ? AND ?", member, from.Format(time.DateOnly), to.Format(time.DateOnly)).
		Group("day").Order("day")
	if asset != "" {
		q = q.Where("asset = ?", asset)
	}
	var out []DailyVolume
	if err := q.Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("daily volume: %w", err)
	}
	return out, nil
}
