package reconcile

import (
	"bytes"
	"strings"
	"testing"
)

// TestReportHashNotes: an app hash the next block has not yet committed to is information,
// said plainly; confirmed hashes say so.
func TestReportHashNotes(t *testing.T) {
	tests := []struct {
		name               string
		hash, app          bool
		wantBlock, wantApp string
		unwanted           string
	}{
		{"both confirmed", true, true, "confirmed by the node", "confirmed by the node", "not"},
		{"awaiting the next block", true, false, "confirmed by the node", "will be confirmed by block 43 (not yet committed)", "not confirmed"},
		{"no node asked", false, false, "not checked: no node to ask", "not checked: no node to ask", "not confirmed"},
	}
	for _, tt := range tests {
		r := &Report{Height: 42, HashConfirmed: tt.hash, AppHashConfirmed: tt.app}
		if got := r.blockHashNote(); got != tt.wantBlock {
			t.Errorf("%s: block %q, want %q", tt.name, got, tt.wantBlock)
		}
		if got := r.appHashNote(); got != tt.wantApp {
			t.Errorf("%s: app hash %q, want %q", tt.name, got, tt.wantApp)
		}
		var out bytes.Buffer
		if err := r.WriteText(&out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), tt.wantApp) || strings.Contains(out.String(), tt.unwanted) {
			t.Errorf("%s:\n%s", tt.name, out.String())
		}
	}
}
