package main

import (
	"context"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/devnet"
	"github.com/ledgerscope/ledgerscope/devnet/devnettest"
	"github.com/ledgerscope/ledgerscope/ledgersync/memchain"
)

// testDevnet starts a one-validator devnet that stops with the test, and a context that ends
// after timeout.
func testDevnet(t *testing.T, timeout time.Duration) (context.Context, devnet.Options, *devnet.Net) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	opts := devnettest.Options(t, 1)
	dn, err := devnet.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dn.Stop() })
	return ctx, opts, dn
}

// testTraffic is a small signed mix for a test devnet, 1 in 20 failing.
func testTraffic(t *testing.T, opts devnet.Options, dn *devnet.Net) memchain.Traffic {
	t.Helper()
	tr, err := memchain.NewTraffic(memchain.TrafficConfig{Seed: opts.Seed, ChainID: dn.Meta.ChainID, Parties: 10, Txs: 200, FailEvery: 20})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}
