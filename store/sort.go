package store

import (
	"bytes"
	"slices"
	"sort"
)

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sortRows orders balance rows by account, then asset.
func sortRows(rows [][]any) {
	slices.SortFunc(rows, func(a, b []any) int {
		if c := bytes.Compare(a[0].([]byte), b[0].([]byte)); c != 0 {
			return c
		}
		return cmpString(a[1].(string), b[1].(string))
	})
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
