package main

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestServeLiveHeap(t *testing.T) {
	rec := httptest.NewRecorder()
	serveLiveHeap(rec, httptest.NewRequest("GET", "/debug/heap/live", nil))
	v, ok := strings.CutPrefix(strings.TrimSpace(rec.Body.String()), "live_heap_bytes ")
	if !ok {
		t.Fatalf("body %q lacks live_heap_bytes", rec.Body.String())
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		t.Fatalf("live heap %q: %v", v, err)
	}
}

func TestPprofListenIsLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:6060", "10.1.2.3:6060", "example.com:6060", "6060"} {
		if err := servePprof(addr, nil); err == nil {
			t.Errorf("--pprof-listen %s was accepted", addr)
		}
	}
}
