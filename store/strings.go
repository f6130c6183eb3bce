package store

import (
	"database/sql/driver"
	"fmt"
	"strings"
)

// StringList maps a PostgreSQL text[] whose elements need no quoting (member ids, role
// names), as the columns that use it hold only such values.
type StringList []string

// Scan implements sql.Scanner.
func (l *StringList) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case nil:
		*l = nil
		return nil
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("string list: cannot scan %T", src)
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	if s == "" {
		*l = StringList{}
		return nil
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = strings.Trim(p, `"`)
	}
	*l = parts
	return nil
}

// Value implements driver.Valuer.
func (l StringList) Value() (driver.Value, error) {
	for _, s := range l {
		if strings.ContainsAny(s, `{},"\ `) {
			return nil, fmt.Errorf("string list: element %q needs quoting", s)
		}
	}
	return "{" + strings.Join(l, ",") + "}", nil
}
