package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"runtime/metrics"
	"time"

	"github.com/spf13/cobra"
)

// addPprofFlag registers --pprof-listen on the root command: an operator chasing a process's
// memory or CPU reads Go's profiles there (go tool pprof http://ADDR/debug/pprof/heap). It is
// off by default and listens on loopback only, since profiles show the process's internals.
func addPprofFlag(root *cobra.Command) {
	var addr string
	root.PersistentFlags().StringVar(&addr, "pprof-listen", "", "serve Go's profiles (/debug/pprof/) on this loopback host:port, e.g. 127.0.0.1:6060; off when empty")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if addr == "" {
			return nil
		}
		return servePprof(addr, cmdLogger(cmd))
	}
}

// servePprof starts the profile listener in the background; it lives as long as the process.
func servePprof(addr string, log *slog.Logger) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--pprof-listen %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--pprof-listen %q: profiles are served on a loopback address only (127.0.0.1 or localhost)", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--pprof-listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/heap/live", serveLiveHeap)
	// A CPU profile or trace streams for as long as its seconds parameter says: no write
	// timeout, but a bound on reading the request.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("pprof listener stopped", "addr", addr, "err", err)
		}
	}()
	log.Info("serving profiles", "addr", "http://"+ln.Addr().String()+"/debug/pprof/")
	return nil
}

// liveHeapMetric is the runtime's count of the heap's live bytes, as its last collection
// marked them: what the collector's next target is derived from.
const liveHeapMetric = "/gc/heap/live:bytes"

// serveLiveHeap collects, then writes the live heap in bytes as plain text. MemStats's
// HeapAlloc, read after a forced collection of a busy process, also counts what was allocated
// while that collection ran: on a loaded machine it read 6.3 GiB where the heap profile found
// 1.9 GiB live.
func serveLiveHeap(w http.ResponseWriter, _ *http.Request) {
	runtime.GC()
	s := []metrics.Sample{{Name: liveHeapMetric}}
	metrics.Read(s)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "live_heap_bytes %d\n", s[0].Value.Uint64())
}
