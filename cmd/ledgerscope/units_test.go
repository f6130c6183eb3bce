package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ledgerscope/ledgerscope/keyring"
	"github.com/ledgerscope/ledgerscope/ledger"
)

// runCLI runs the ledgerscope command line with args and returns what it printed.
func runCLI(ctx context.Context, args ...string) (string, error) {
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	return out.String(), err
}

func TestDisplay(t *testing.T) {
	var gtja ledger.Address
	gtja[0] = 0x7d
	d := &display{decimals: map[string]uint8{"CNYS": 2, "600036": 0, fiatSymbol: 2}, names: map[ledger.Address]string{gtja: "gtja"}}
	raw := &display{raw: true, decimals: d.decimals, names: d.names}
	other := ledger.Address{1}
	tests := []struct {
		name      string
		got, want string
	}{
		{"coin", d.amount(1225, "CNYS"), "12.25 CNYS"},
		{"shares", d.amount(900, "600036"), "900 600036"},
		{"zero", d.amount(0, "CNYS"), "0.00 CNYS"},
		{"largest", d.amount(ledger.MaxAmount, "CNYS"), "92233720368547758.07 CNYS"},
		{"unknown asset", d.amount(5, "NEW"), "5 NEW (smallest unit)"},
		{"debit", d.delta(-1225, "CNYS"), "-12.25 CNYS"},
		{"credit", d.delta(1225, "CNYS"), "+12.25 CNYS"},
		{"smallest int64", d.delta(-1<<63, "600036"), "-9223372036854775808 600036"},
		{"signed row", d.amount64(1225, "CNYS"), "12.25 CNYS"},
		{"raw amount", raw.amount(1225, "CNYS"), "1225"},
		{"raw delta", raw.delta(-1225, "CNYS"), "-1225"},
		{"named", d.account(gtja), "gtja (7d000000…)"},
		{"unnamed", d.account(other), other.String()},
		{"raw named", raw.account(gtja), gtja.String()},
		{"message", d.text(gtja.String() + " holds 1.00 CNYS available"), "gtja (7d000000…) holds 1.00 CNYS available"},
		{"raw message", raw.text(gtja.String() + " holds"), gtja.String() + " holds"},
		{"time", timeText(time.Date(2026, 12, 7, 13, 50, 19, 0, time.UTC)), "2026-12-07 21:50:19 CST"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, tt.got, tt.want)
		}
	}

	events := []struct {
		ev   ledger.Event
		want string
	}{
		{&ledger.TransferEvent{From: gtja, To: other, Asset: "CNYS", Amount: 1225, Leg: "transfer"},
			"transfer from=gtja (7d000000…) to=" + other.String() + " amount=12.25 CNYS leg=transfer"},
		{&ledger.BalanceEvent{Account: gtja, Asset: "CNYS", Delta: -1225, Amount: 98775},
			"balance account=gtja (7d000000…) delta=-12.25 CNYS amount=987.75 CNYS"},
		{&ledger.ReservesEvent{Amount: 500000, AsOf: 1, Supply: 400000},
			"reserves amount=5000.00 CNYS as_of=1 supply=4000.00 CNYS"},
		{&ledger.SettlementEvent{Kind: "gateway", State: ledger.SettlementLocked, Asset: "600036", Quantity: 900, Cash: 1205100},
			"settlement kind=gateway state=locked quantity=900 600036 cash=12051.00 CNY"},
		{&ledger.SettlementEvent{Kind: "dvp", State: ledger.SettlementConfirmed, Asset: "600036", Quantity: 900, Cash: 1205100},
			"settlement kind=dvp state=confirmed quantity=900 600036 cash=12051.00 CNYS"},
		{&ledger.AssetEvent{Asset: ledger.Asset{Symbol: "CU2701", Class: ledger.ClassCommodity, Decimals: 3, PositionLimit: 5000}},
			"asset symbol=CU2701 class=commodity decimals=3 position_limit=5.000 CU2701"},
		{&ledger.FreezeEvent{Asset: "600036", Frozen: true, Reason: "halt"}, "freeze asset=600036 frozen=true reason=halt"},
	}
	for _, tt := range events {
		if got := d.event(tt.ev); got != tt.want {
			t.Errorf("event:\n got %s\nwant %s", got, tt.want)
		}
	}
	if got, want := raw.event(events[1].ev), "balance account="+gtja.String()+" asset=CNYS delta=-1225 amount=98775"; got != want {
		t.Errorf("raw event:\n got %s\nwant %s", got, want)
	}
}

func TestPositiveAmount(t *testing.T) {
	tests := []struct {
		in, want string
		v        uint64
	}{
		{"12.25", "", 1225},
		{"0", "--amount 0: the amount must be positive", 0},
		{"0.00", "--amount 0.00: the amount must be positive", 0},
		{"-5", "--amount -5: the amount must be positive", 0},
		{"-0.01", "--amount -0.01: the amount must be positive", 0},
		{"1.001", "--amount: amount \"1.001\": at most 2 decimal places", 0},
		{"", "--amount: amount \"\": want digits", 0},
	}
	for _, tt := range tests {
		v, err := positiveAmount("amount", tt.in, 2)
		if tt.want == "" {
			if err != nil || v != tt.v {
				t.Errorf("%q: %d, %v; want %d", tt.in, v, err, tt.v)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.in, err, tt.want)
		}
	}
}

// TestTxAndQueryInUnits runs the tx and query commands as an operator would against a
// one-validator devnet on ports other than the default: amounts typed and printed in units,
// accounts named by their keys, bad amounts refused before signing, and the devnet's try
// line working as printed.
func TestTxAndQueryInUnits(t *testing.T) {
	ctx, opts, dn := testDevnet(t, 90*time.Second)
	at := []string{"--home", opts.Home, "--node", dn.RPC()}
	run := func(args ...string) (string, error) { return runCLI(ctx, append(args, at...)...) }
	ring := keyring.Open(filepath.Join(opts.Home, "keys"))
	gtja, err := ring.Get("gtja")
	if err != nil {
		t.Fatal(err)
	}
	gtjaName := "gtja (" + gtja.Address().String()[:8] + "…)"

	if out, err := run("tx", "mint", "--from", "bocs", "--to", "gtja", "--asset", "CNYS", "--amount", "1000"); err != nil {
		t.Fatalf("mint: %v\n%s", err, out)
	}
	tests := []struct {
		name    string
		args    []string
		want    []string
		wantErr string
	}{
		{"transfer", []string{"tx", "transfer", "--from", "gtja", "--to", "htsc", "--asset", "CNYS", "--amount", "12.25"},
			[]string{"code 0 (ok)", "balance account=" + gtjaName + " delta=-12.25 CNYS amount=987.75 CNYS",
				"transfer from=" + gtjaName + " to=htsc (", "amount=12.25 CNYS leg=transfer"}, ""},
		{"raw transfer", []string{"tx", "transfer", "--raw", "--from", "gtja", "--to", "htsc", "--asset", "CNYS", "--amount", "0.75"},
			[]string{"account=" + gtja.Address().String() + " asset=CNYS delta=-75 amount=98700"}, ""},
		{"zero amount", []string{"tx", "transfer", "--from", "gtja", "--to", "htsc", "--asset", "CNYS", "--amount", "0"},
			nil, "--amount 0: the amount must be positive"},
		{"negative amount", []string{"tx", "transfer", "--from", "gtja", "--to", "htsc", "--asset", "CNYS", "--amount", "-1"},
			nil, "--amount -1: the amount must be positive"},
		{"zero fiat", []string{"tx", "lock-for-settlement", "--from", "gtja", "--buyer", "htsc", "--asset", "CNYS", "--quantity", "1",
			"--gateway", "UPGW", "--fiat", "0", "--deadline", "1h"}, nil, "--fiat 0: the amount must be positive"},
		{"short of funds", []string{"tx", "transfer", "--from", "gtja", "--to", "htsc", "--asset", "CNYS", "--amount", "92233720368547758.07"},
			nil, gtjaName + " holds 987.00 CNYS available, needs 92233720368547758.07 CNYS"},
		{"report required", []string{"tx", "attest-reserves", "--from", "bocs", "--amount", "5"}, nil, `required flag(s) "report" not set`},
		{"account", []string{"query", "account", "htsc"},
			[]string{`"amount": 1300`, `"amount_units": "13.00"`, `"available_units": "13.00"`, `"Address_key": "htsc"`}, ""},
		{"balance", []string{"query", "balance", "gtja", "CNYS"}, []string{`"amount": 98700`, `"amount_units": "987.00"`}, ""},
		{"asset", []string{"query", "asset", "CNYS"}, []string{`"Supply": 100000`, `"Supply_units": "1000.00"`}, ""},
		{"member", []string{"query", "member", "GTJA"}, []string{`"Operator_key": "gtja"`}, ""},
		{"reserves", []string{"query", "reserves"}, []string{`"Supply_units": "1000.00"`}, ""},
	}
	for _, tt := range tests {
		out, err := run(tt.args...)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: %v, want %q\n%s", tt.name, err, tt.wantErr, out)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v\n%s", tt.name, err, out)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", tt.name, w, out)
			}
		}
	}

	// --raw prints the ledger's answer alone, integers and all.
	out, err := run("query", "account", "htsc", "--raw")
	if err != nil || strings.Contains(out, "_units") || strings.Contains(out, "_key") || !strings.Contains(out, `"amount": 1300`) {
		t.Errorf("raw account: %v\n%s", err, out)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Errorf("raw account is not JSON: %v", err)
	}

	// The devnet's try line works as printed, on a base port other than the default.
	line := tryQueryLine(opts.Home, dn.RPC())
	if !strings.Contains(line, "--node "+dn.RPC()) {
		t.Fatalf("try line %q does not name the node", line)
	}
	out, err = runCLI(ctx, strings.Fields(line)[1:]...)
	if err != nil || !regexp.MustCompile(`"ID": "GTJA"`).MatchString(out) || !strings.Contains(out, `"Operator_key": "gtja"`) {
		t.Errorf("try line %q: %v\n%s", line, err, out)
	}
	if got := tryQueryLine("var/devnet", defaultNode); got != "bin/ledgerscope query members --home var/devnet" {
		t.Errorf("default try line %q", got)
	}
}

func TestAttestReservesHelpSaysReportIsRequired(t *testing.T) {
	out, err := runCLI(context.Background(), "tx", "attest-reserves", "--help")
	if err != nil || !regexp.MustCompile(`--report string +hex SHA-256 of the auditor's report \(required\)`).MatchString(out) {
		t.Errorf("%v\n%s", err, out)
	}
}
