package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/ledgersync"
	"github.com/ledgerscope/ledgerscope/node"
	"github.com/ledgerscope/ledgerscope/store"
	"github.com/ledgerscope/ledgerscope/store/pgtest"
)

// TestReconcileCommand runs `ledgerscope reconcile` as an operator would, against a one-validator
// devnet synced over RPC: no difference, then a balance altered by hand is reported and the
// command fails.
func TestReconcileCommand(t *testing.T) {
	ctx, opts, dn := testDevnet(t, 60*time.Second)
	v0 := dn.Members[0]
	tr := testTraffic(t, opts, dn)
	submitPhases(ctx, t, v0, append(tr.Setup, tr.Load))

	url := pgtest.MigratedURL(t)
	t.Setenv("DATABASE_URL", url)
	db, err := store.Open(ctx, store.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	doc, err := dn.Genesis()
	if err != nil {
		t.Fatal(err)
	}
	g, err := ledgersync.GenesisFromDoc(doc)
	if err != nil {
		t.Fatal(err)
	}
	src, err := node.NewRPCSource(node.RPCSourceConfig{Remote: dn.RPC(), PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w, err := ledgersync.New(ledgersync.Config{Source: src, DB: db, Genesis: g})
	if err != nil {
		t.Fatal(err)
	}
	top := v0.App.Height()
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	for w.Metrics().SyncedHeight < top {
		if ctx.Err() != nil {
			t.Fatalf("sync at %d of %d: %s", w.Metrics().SyncedHeight, top, w.Metrics().LastError)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	run := func() (string, error) {
		cmd := newReconcileCmd()
		cmd.SilenceUsage = true
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs([]string{"--node-rpc", dn.RPC(), "--page-size", "5"})
		err := cmd.ExecuteContext(ctx)
		return out.String(), err
	}
	out, err := run()
	if err != nil || !strings.Contains(out, "no difference") || !strings.Contains(out, "confirmed by the node") {
		t.Fatalf("clean database: %v\n%s", err, out)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE balances SET amount = amount + 1 WHERE asset = '600001' AND amount > 0`); err != nil {
		t.Fatal(err)
	}
	out, err = run()
	if err == nil || !strings.Contains(err.Error(), "differences") || !strings.Contains(out, "balance") || !strings.Contains(out, "600001") {
		t.Fatalf("altered balances: %v\n%s", err, out)
	}
	t.Log("\n" + out)
}
