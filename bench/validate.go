package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ledgerscope/ledgerscope/ledger"
)

// AppValidation measures the ledger app re-executing blocks it never saw in its mempool, as a
// full node does: decode, verify every signature (batched, all cores), execute, hash the state
// and persist it. CometBFT's own share is left out; FullNodeSync measures the whole.
func AppValidation(dir, seed, chainID string, tr Traffic, perBlock int) (Row, error) {
	ctx := context.Background()
	app, err := ledger.NewApp(ledger.Config{Dir: dir})
	if err != nil {
		return Row{}, err
	}
	defer app.Close()
	state, _ := json.Marshal(ledger.DemoGenesis(seed))
	if _, err := app.InitChain(ctx, &abci.InitChainRequest{ChainId: chainID, AppStateBytes: state, InitialHeight: 1}); err != nil {
		return Row{}, err
	}
	h := int64(0)
	at := time.Date(2026, 11, 23, 1, 30, 0, 0, time.UTC)
	run := func(txs [][]byte) (failed int, err error) {
		for lo := 0; lo < len(txs); lo += perBlock {
			h++
			at = at.Add(time.Second)
			resp, err := app.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: h, Time: at, Txs: txs[lo:min(lo+perBlock, len(txs))]})
			if err != nil {
				return failed, err
			}
			for _, r := range resp.TxResults {
				if r.Code != 0 {
					failed++
				}
			}
			if _, err := app.Commit(ctx, &abci.CommitRequest{}); err != nil {
				return failed, err
			}
		}
		return failed, nil
	}
	for _, phase := range tr.Setup {
		if failed, err := run(phase); err != nil || failed > 0 {
			return Row{}, fmt.Errorf("setup: %d failed, %v", failed, err)
		}
	}
	start := time.Now()
	failed, err := run(tr.Load)
	if err != nil {
		return Row{}, err
	}
	rate := float64(len(tr.Load)) / time.Since(start).Seconds()
	return Row{Name: "app re-execution of signed traffic", Value: rate, Unit: "tx/s", Goal: 100_000,
		Note: fmt.Sprintf("%d txs in blocks of %d, cold signature cache, %d failed", len(tr.Load), perBlock, failed)}, nil
}
