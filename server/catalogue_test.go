package server

import (
	"io/fs"
	"regexp"
	"sort"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/ledgerscope/ledgerscope/policies"
	"github.com/ledgerscope/ledgerscope/web"
)

// catalogue reads one language's messages.
func catalogue(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := fs.ReadFile(web.Messages, "i18n/"+lang+".toml")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	if err := toml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", lang, err)
	}
	return m
}

// TestCataloguesAgree: every message exists in every language, and every message a template
// or the code names exists.
func TestCataloguesAgree(t *testing.T) {
	cats := map[string]map[string]string{}
	for _, l := range Languages {
		cats[l] = catalogue(t, l)
	}
	for _, l := range Languages {
		for _, other := range Languages {
			for k := range cats[other] {
				if _, ok := cats[l][k]; !ok {
					t.Errorf("%s lacks %q, which %s has", l, k, other)
				}
			}
		}
	}
	used := map[string]bool{}
	lit := regexp.MustCompile(`\bt \$?\.L "([^"]+)"`)
	files, _ := fs.Glob(web.Templates, "templates/*.html")
	for _, f := range files {
		b, _ := fs.ReadFile(web.Templates, f)
		for _, m := range lit.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
	}
	for _, n := range navLinks {
		used[n.label] = true
	}
	for _, e := range []*httpError{errNotFound, errMethod, errForbidden, errUnauthorized, errBadRequest, errTooLarge, errUnavailable, errInternal} {
		used[e.msg] = true
	}
	for _, r := range policies.Roles {
		used["role."+r], used["role."+r+".about"] = true, true
	}
	for _, k := range []string{"login.title", "login.failed", "login.locked", "home.title", "status.title", "error.title"} {
		used[k] = true
	}
	keys := make([]string, 0, len(used))
	for k := range used {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := cats["en"][k]; !ok {
			t.Errorf("message %q is used but not in the catalogue", k)
		}
	}
}
