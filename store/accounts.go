package store

import (
	"context"
	"fmt"
)

// Account is a row of accounts.
type Account struct {
	Address       []byte     `gorm:"column:address;primaryKey"`
	PubKey        []byte     `gorm:"column:pubkey"`
	Sponsor       string     `gorm:"column:sponsor"`
	Kind          string     `gorm:"column:kind"`
	OwnerRef      []byte     `gorm:"column:owner_ref"`
	Status        string     `gorm:"column:status"`
	Venues        StringList `gorm:"column:venues;type:text[]"`
	Height        int64      `gorm:"column:height"`
	UpdatedHeight int64      `gorm:"column:updated_height"`
}

// TableName implements gorm's Tabler.
func (Account) TableName() string { return "accounts" }

// StatusChange is a freeze or unfreeze of an account (by address) or an asset (by symbol).
type StatusChange struct {
	Key    []byte // account address, or asset symbol bytes
	Status string
	Height int64
}

// Account returns one account.
func (db *DB) Account(ctx context.Context, addr []byte) (*Account, error) {
	var a Account
	if err := db.Gorm.WithContext(ctx).Where("address = ?", addr).Take(&a).Error; err != nil {
		return nil, notFound(err, fmt.Sprintf("account %x", addr))
	}
	return &a, nil
}

// AccountSponsors maps every account address to its sponsoring member, for attributing
// transactions to members as blocks are written. It reads in pages to bound each query.
func (db *DB) AccountSponsors(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	var after []byte
	const page = 50_000
	for {
		var rows []Account
		q := db.Gorm.WithContext(ctx).Select("address", "sponsor").Order("address").Limit(page)
		if after != nil {
			q = q.Where("address > ?", after)
		}
		if err := q.Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("account sponsors: %w", err)
		}
		for _, r := range rows {
			out[string(r.Address)] = r.Sponsor
		}
		if len(rows) < page {
			return out, nil
		}
		after = rows[len(rows)-1].Address
	}
}
