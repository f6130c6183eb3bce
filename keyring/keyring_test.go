package keyring

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestRing(t *testing.T) {
	r := Open(filepath.Join(t.TempDir(), "keys"))
	k, err := r.Create("alice")
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Get("alice")
	if err != nil || !got.Private.Equal(k.Private) {
		t.Fatalf("Get = %v, %v", got, err)
	}
	if err := r.Import(k); err != nil {
		t.Fatalf("re-importing the same key: %v", err)
	}
	if _, err := r.Create("alice"); err == nil {
		t.Fatal("Create replaced an existing key")
	}
	if _, err := r.Get("bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing key: %v", err)
	}
	if _, err := r.Create("Bad Name"); err == nil {
		t.Fatal("accepted an ill-formed name")
	}
	info, err := os.Stat(r.path("alice"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", info.Mode(), err)
	}
	keys, err := r.List()
	if err != nil || len(keys) != 1 {
		t.Fatalf("List = %v, %v", keys, err)
	}
}
