package portal

import "testing"

func TestRetainHeight(t *testing.T) {
	tests := []struct {
		name                    string
		committed, keep, synced int64
		want                    int64
	}{
		{"young chain", 50, 100, 50, 0},
		{"keep behind the tip", 1000, 100, 1000, 900},
		{"sync behind: keep what it has not read", 1000, 100, 400, 401},
		{"nothing synced yet", 1000, 100, 0, 0},
		{"synced one block", 1000, 100, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retainHeight(tt.committed, tt.keep, tt.synced); got != tt.want {
				t.Errorf("retainHeight(%d, %d, %d) = %d, want %d", tt.committed, tt.keep, tt.synced, got, tt.want)
			}
		})
	}
}

func TestRetainerWaitsForTheSync(t *testing.T) {
	r := retainer{keep: 10}
	if h := r.height(1000); h != 0 {
		t.Errorf("before the sync started: %d, want 0", h)
	}
	off := retainer{}
	if h := off.height(1000); h != 0 {
		t.Errorf("keeping every block: %d, want 0", h)
	}
}
