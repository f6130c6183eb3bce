package compliance

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// dvpSettlement is a DvP of the range and the legs its transaction moved.
type dvpSettlement struct {
	id                  []byte
	seller, buyer       []byte
	asset, venue        string
	qty, cash, height   int64
	time                time.Time
	assetLegs, cashLegs int64
}

// evalDvPAtom finds the range's DvPs whose transaction did not move both legs. A DvP's id is
// its transaction's hash, which its legs carry. Each of its two reads is a range scan of one
// table along its primary key, joined here: one SQL join, planned on the statistics of
// tables still being loaded, chose a nested loop that took a minute for 50k transactions.
func evalDvPAtom(ctx context.Context, e *Env, _ *NoParams, r Range) ([]Finding, error) {
	ts, err := e.trades(ctx, r.From, r.To)
	if err != nil {
		return nil, err
	}
	byID := map[string]*dvpSettlement{}
	var order []*dvpSettlement
	for _, t := range ts {
		if t.kind != "dvp" {
			continue
		}
		d := &dvpSettlement{id: t.id, seller: t.seller, buyer: t.buyer, asset: t.asset, qty: t.qty, cash: t.cash, height: t.height, time: t.time, venue: t.venue}
		byID[string(d.id)] = d
		order = append(order, d)
	}
	if len(order) == 0 {
		return nil, nil
	}
	// A DvP's legs are rows of settlement_legs: the transfer_legs view adds plain transfers only.
	var hash []byte
	var height int64
	var leg string
	err = e.scan(ctx, "dvp legs", func(rows pgx.Rows) error {
		if err := rows.Scan(&height, &hash, &leg); err != nil {
			return err
		}
		if d := byID[string(hash)]; d != nil && d.height == height {
			if leg == "asset" {
				d.assetLegs++
			} else {
				d.cashLegs++
			}
		}
		return nil
	}, `SELECT height, tx_hash, leg FROM settlement_legs
		WHERE block_time BETWEEN $3 AND $4 AND height BETWEEN $1 AND $2 AND leg IN ('asset', 'cash')`,
		r.From, r.To, r.FromTime, r.ToTime)
	if err != nil {
		return nil, err
	}
	var broken []*dvpSettlement
	assets := []string{}
	for _, d := range order {
		if (d.qty == 0 || d.assetLegs > 0) && (d.cash == 0 || d.cashLegs > 0) {
			continue
		}
		broken = append(broken, d)
		assets = append(assets, d.asset)
	}
	if err := e.loadDecimals(ctx, assets); err != nil {
		return nil, err
	}
	out := make([]Finding, 0, len(broken))
	for _, d := range broken {
		out = append(out, Finding{
			SubjectKind: SubjectSettlement, Subject: hashHex(d.id), WindowKey: hashHex(d.id), Member: d.venue, Asset: d.asset,
			Height: d.height, Time: d.time, LastHeight: d.height,
			Summary: fmt.Sprintf("DvP final with %d asset legs and %d cash legs", d.assetLegs, d.cashLegs),
			Figures: map[string]any{"quantity": d.qty, "cash": d.cash, "asset_legs": d.assetLegs, "cash_legs": d.cashLegs},
			Evidence: []Evidence{{Tx: hashHex(d.id), Height: d.height, Time: d.time,
				Note: fmt.Sprintf("DvP at %s: %s sold %s for %s to %s; its transaction moved %d asset legs and %d cash legs",
					d.venue, addrHex(d.seller), e.amount(d.qty, d.asset), coin(d.cash), addrHex(d.buyer), d.assetLegs, d.cashLegs),
				Accounts: []EvidenceAccount{e.mover(d.seller, "seller", d.asset, d.qty), e.mover(d.buyer, "buyer", d.asset, d.qty)}}},
		})
	}
	return out, nil
}
