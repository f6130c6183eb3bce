package ledgersync

import (
	"testing"

	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

// TestPrefetchRowsBound syncs with a read-ahead allowance smaller than many blocks, and than
// the write batch: the reader waits for the writer instead of converting the whole chain
// ahead, a block larger than the allowance still passes, and the result equals an
// unbounded sync's.
func TestPrefetchRowsBound(t *testing.T) {
	src := newTestChain(t, 5)
	src.Run(30, 120)
	tests := []struct {
		name string
		tune func(*Config)
	}{
		{"unbounded", nil},
		{"tight", func(c *Config) { c.PrefetchRows = 40; c.MaxBatchRows = 100 }},
		{"one row", func(c *Config) { c.PrefetchRows = 1 }},
	}
	var want map[string]string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := pgtest.New(t)
			syncTo(t, db, src, src.Height(), tt.tune)
			got := checksums(t, db)
			if want == nil {
				want = got
				return
			}
			sameChecksums(t, want, got)
		})
	}
}
