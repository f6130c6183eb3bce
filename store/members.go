package store

import (
	"context"
	"fmt"
)

// Member is a row of members.
type Member struct {
	ID       string     `gorm:"column:id;primaryKey"`
	Name     string     `gorm:"column:name"`
	Roles    StringList `gorm:"column:roles;type:text[]"`
	Operator []byte     `gorm:"column:operator"`
	Height   int64      `gorm:"column:height"`
}

// TableName implements gorm's Tabler.
func (Member) TableName() string { return "members" }

// Members lists every member by id.
func (db *DB) Members(ctx context.Context) ([]Member, error) {
	var out []Member
	if err := db.Gorm.WithContext(ctx).Order("id").Limit(maxMembers).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	return out, nil
}

// maxMembers bounds the member list; a consortium has dozens.
const maxMembers = 10_000
