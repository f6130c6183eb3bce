package store

import "time"

// Settlement is a row of settlements.
type Settlement struct {
	ID           []byte     `gorm:"column:id;primaryKey"`
	Kind         string     `gorm:"column:kind"`
	State        string     `gorm:"column:state"`
	Venue        string     `gorm:"column:venue"`
	Gateway      string     `gorm:"column:gateway"`
	Seller       []byte     `gorm:"column:seller"`
	Buyer        []byte     `gorm:"column:buyer"`
	Asset        string     `gorm:"column:asset"`
	Quantity     int64      `gorm:"column:quantity"`
	Cash         int64      `gorm:"column:cash"`
	Deadline     *time.Time `gorm:"column:deadline"`
	Ref          string     `gorm:"column:ref"`
	CloseRef     string     `gorm:"column:close_ref"`
	Reason       string     `gorm:"column:reason"`
	OpenedHeight int64      `gorm:"column:opened_height"`
	OpenedTime   time.Time  `gorm:"column:opened_time"`
	ClosedHeight *int64     `gorm:"column:closed_height"`
	ClosedTime   *time.Time `gorm:"column:closed_time"`
}

// TableName implements gorm's Tabler.
func (Settlement) TableName() string { return "settlements" }
