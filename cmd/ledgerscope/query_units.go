package main

import (
	"encoding/json"
	"strconv"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// An annotator adds to a query's JSON answer v (the query's arguments in args) the amounts
// in units and the key names of accounts, beside the fields the ledger gave.
type annotator func(d *display, v any, args []string)

// each applies an annotator to every element of a list answer.
func each(a annotator) annotator {
	return func(d *display, v any, args []string) {
		list, _ := v.([]any)
		for _, x := range list {
			a(d, x, args)
		}
	}
}

// addUnits sets key+"_units" beside each integer amount key of obj, in asset's units.
func addUnits(d *display, obj map[string]any, asset string, keys ...string) {
	dec, ok := d.decimals[asset]
	if !ok {
		return
	}
	for _, k := range keys {
		n, ok := obj[k].(json.Number)
		if !ok {
			continue
		}
		v, err := strconv.ParseUint(n.String(), 10, 64)
		if err != nil {
			continue
		}
		obj[k+"_units"] = ledger.FormatAmount(v, dec)
	}
}

// addKeyNames sets key+"_key" beside each address key of obj that names a key of the home.
func addKeyNames(d *display, obj map[string]any, keys ...string) {
	for _, k := range keys {
		s, _ := obj[k].(string)
		a, err := ledger.ParseAddress(s)
		if err != nil {
			continue
		}
		if name, ok := d.names[a]; ok {
			obj[k+"_key"] = name
		}
	}
}

// balanceKeys are the amounts of a holding (ledger.BalanceView).
var balanceKeys = []string{"amount", "locked", "available"}

func annotateAccount(d *display, v any, _ []string) {
	obj, _ := v.(map[string]any)
	addKeyNames(d, obj, "Address")
	balances, _ := obj["balances"].(map[string]any)
	for sym, b := range balances {
		if bal, ok := b.(map[string]any); ok {
			addUnits(d, bal, sym, balanceKeys...)
		}
	}
}

func annotateBalance(d *display, v any, args []string) {
	obj, _ := v.(map[string]any)
	addUnits(d, obj, args[1], balanceKeys...)
}

func annotateAsset(d *display, v any, _ []string) {
	obj, _ := v.(map[string]any)
	sym, _ := obj["Symbol"].(string)
	addUnits(d, obj, sym, "Supply", "Minted", "Burned", "PositionLimit")
}

func annotateMember(d *display, v any, _ []string) {
	obj, _ := v.(map[string]any)
	addKeyNames(d, obj, "Operator")
}

func annotateSettlement(d *display, v any, _ []string) {
	obj, _ := v.(map[string]any)
	sym, _ := obj["Asset"].(string)
	addUnits(d, obj, sym, "Quantity")
	addUnits(d, obj, fiatSymbol, "FiatAmount")
	addKeyNames(d, obj, "Seller", "Buyer")
}

func annotateReserves(d *display, v any, _ []string) {
	obj, _ := v.(map[string]any)
	addUnits(d, obj, ledger.CoinSymbol, "Amount", "Supply")
}
