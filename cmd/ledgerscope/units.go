package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ledgerscope/ledgerscope/keyring"
	"github.com/ledgerscope/ledgerscope/ledger"
	"github.com/ledgerscope/ledgerscope/store"
)

// fiatSymbol labels a gateway settlement's off-chain payment: yuan, counted in fen like the
// coin.
const fiatSymbol = "CNY"

// shanghai is the zone the consortium's days and sessions are in, and the one times are
// printed in; China keeps no daylight saving time, so a fixed zone needs no tz database.
var shanghai = time.FixedZone("CST", 8*3600)

// timeText is a time as the CLI prints it: to the second, in Shanghai, with its zone.
func timeText(t time.Time) string { return t.In(shanghai).Format("2006-01-02 15:04:05 MST") }

// display renders what the CLI prints for people: amounts in their asset's units with the
// symbol, computed from the integer, and accounts by the name of the home's key where there
// is one. With raw it renders integers and hex addresses, as scripts want them.
type display struct {
	raw      bool
	decimals map[string]uint8
	names    map[ledger.Address]string
}

// newDisplay is a display with the decimals of the assets and the fiat currency, naming
// the keys of home (none when home is empty or holds no keys).
func newDisplay(raw bool, decimals map[string]uint8, home string) (*display, error) {
	d := &display{raw: raw, decimals: map[string]uint8{fiatSymbol: ledger.CoinDecimals}, names: map[ledger.Address]string{}}
	for sym, dec := range decimals {
		d.decimals[sym] = dec
	}
	if home == "" {
		return d, nil
	}
	keys, err := keyring.Open(filepath.Join(home, "keys")).List()
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		d.names[k.Address()] = k.Name
	}
	return d, nil
}

// nodeDecimals asks the node for every asset's decimals.
func (c *ledgerClient) nodeDecimals(ctx context.Context) (map[string]uint8, error) {
	var assets []struct {
		Symbol   string
		Decimals uint8
	}
	if err := c.query(ctx, "/assets", &assets); err != nil {
		return nil, err
	}
	out := make(map[string]uint8, len(assets))
	for _, a := range assets {
		out[a.Symbol] = a.Decimals
	}
	return out, nil
}

// maxAssets bounds the asset list the database commands read for decimals.
const maxAssets = 10_000

// storeDecimals reads every asset's decimals from the synced database.
func storeDecimals(ctx context.Context, db *store.DB) (map[string]uint8, error) {
	assets, err := db.Assets(ctx, maxAssets)
	if err != nil {
		return nil, err
	}
	out := make(map[string]uint8, len(assets))
	for _, a := range assets {
		out[a.Symbol] = uint8(a.Decimals)
	}
	return out, nil
}

// amount is v of asset in its units with the symbol ("12.25 CNYS"), or the integer when raw.
// An asset whose decimals are unknown shows its integer, labelled as such.
func (d *display) amount(v uint64, asset string) string {
	if d.raw {
		return strconv.FormatUint(v, 10)
	}
	dec, ok := d.decimals[asset]
	if !ok {
		return fmt.Sprintf("%d %s (smallest unit)", v, asset)
	}
	return ledger.FormatAmount(v, dec) + " " + asset
}

// amount64 is amount for an integer PostgreSQL keeps signed; amounts are never negative
// there, but a negative one would print with its sign rather than wrap.
func (d *display) amount64(v int64, asset string) string {
	if v < 0 && !d.raw {
		return d.delta(v, asset)
	}
	if v < 0 {
		return strconv.FormatInt(v, 10)
	}
	return d.amount(uint64(v), asset)
}

// delta is a signed change of a holding, with its sign.
func (d *display) delta(v int64, asset string) string {
	if d.raw {
		return strconv.FormatInt(v, 10)
	}
	if v < 0 {
		// uint64(-v) is right for the smallest int64 too: its negation wraps to itself.
		return "-" + d.amount(uint64(-v), asset)
	}
	return "+" + d.amount(uint64(v), asset)
}

// account names an address by its key, "gtja (7d33db4d…)", or gives its hex.
func (d *display) account(a ledger.Address) string {
	if name, ok := d.names[a]; ok && !d.raw {
		return name + " (" + shortHex(a.String()) + ")"
	}
	return a.String()
}

// accountHex is account for an address in hex; anything else is returned as it is.
func (d *display) accountHex(s string) string {
	a, err := ledger.ParseAddress(s)
	if err != nil {
		return s
	}
	return d.account(a)
}

// addressRE finds the addresses in a message: 40 hex digits on their own.
var addressRE = regexp.MustCompile(`\b[0-9a-fA-F]{40}\b`)

// text names the addresses of known keys in a message, such as a rejection's.
func (d *display) text(s string) string {
	if d.raw || len(d.names) == 0 {
		return s
	}
	return addressRE.ReplaceAllStringFunc(s, func(h string) string {
		a, err := ledger.ParseAddress(strings.ToLower(h))
		if err != nil {
			return h
		}
		return d.account(a)
	})
}

// shortHex keeps the first 8 digits of a long hex string, enough to tell accounts apart by
// eye; the whole is in --raw and --wide output.
func shortHex(s string) string {
	if len(s) <= 12 {
		return s
	}
	return s[:8] + "…"
}

// isHex reports whether s is all hex digits.
func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && s != ""
}

// event renders an event as one line of key=value pairs, amounts in units and accounts by
// name; raw keeps the attributes as the ledger writes them.
func (d *display) event(ev ledger.Event) string {
	e := ledger.ToABCI([]ledger.Event{ev})[0]
	attrs := make(map[string]string, len(e.Attributes))
	for _, a := range e.Attributes {
		attrs[a.Key] = a.Value
	}
	var b strings.Builder
	b.WriteString(e.Type)
	for _, a := range e.Attributes {
		if a.Value == "" || (a.Key == "asset" && !d.raw && hasAmount(attrs)) {
			// The amounts carry the asset's symbol.
			continue
		}
		fmt.Fprintf(&b, " %s=%s", a.Key, d.attr(e.Type, a.Key, a.Value, attrs))
	}
	return b.String()
}

// amountKeys are the event attributes that hold amounts.
var amountKeys = map[string]bool{"amount": true, "locked": true, "supply": true, "quantity": true, "cash": true, "delta": true}

// hasAmount reports whether an event's attributes hold an amount.
func hasAmount(attrs map[string]string) bool {
	for k := range attrs {
		if amountKeys[k] {
			return true
		}
	}
	return false
}

// attr renders one attribute of an event of type typ.
func (d *display) attr(typ, key, value string, attrs map[string]string) string {
	switch key {
	case "from", "to", "account", "address", "seller", "buyer":
		return d.accountHex(value)
	case "delta":
		if v, err := strconv.ParseInt(value, 10, 64); err == nil {
			return d.delta(v, attrs["asset"])
		}
	case "position_limit":
		// A new asset's decimals come with it, not from the list read before the tx.
		dec, derr := strconv.ParseUint(attrs["decimals"], 10, 8)
		if v, err := strconv.ParseUint(value, 10, 64); err == nil && derr == nil && !d.raw {
			return ledger.FormatAmount(v, uint8(dec)) + " " + attrs["symbol"]
		}
	case "amount", "locked", "supply", "quantity", "cash":
		if v, err := strconv.ParseUint(value, 10, 64); err == nil {
			return d.amount(v, eventAsset(typ, key, attrs))
		}
	}
	return value
}

// eventAsset is the asset an amount attribute of an event counts: the event's asset, but
// the coin for reserves and a DvP's cash, the fiat currency for a gateway settlement's.
func eventAsset(typ, key string, attrs map[string]string) string {
	switch {
	case typ == "reserves":
		return ledger.CoinSymbol
	case typ == "settlement" && key == "cash" && attrs["kind"] == "gateway":
		return fiatSymbol
	case typ == "settlement" && key == "cash":
		return ledger.CoinSymbol
	}
	return attrs["asset"]
}
