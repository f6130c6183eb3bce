package ledger

import (
	"context"
	"sort"

	abci "github.com/cometbft/cometbft/abci/types"
)

// PrepareProposal takes the mempool's transactions up to the block's byte limit and puts each
// signer's transactions in nonce order. A node's mempool can hold one signer's nonces out of
// order: two peers gossip n and n+1 at once, and CometBFT inserts each after its CheckTx
// returns, outside the app's lock. Proposed as they are, n+1 would fail and every later nonce
// with it.
func (a *App) PrepareProposal(_ context.Context, req *abci.PrepareProposalRequest) (*abci.PrepareProposalResponse, error) {
	txs := make([][]byte, 0, len(req.Txs))
	var total int64
	for _, tx := range req.Txs {
		total += int64(len(tx))
		if total > req.MaxTxBytes {
			break
		}
		txs = append(txs, tx)
	}
	return &abci.PrepareProposalResponse{Txs: orderNonces(txs)}, nil
}

// orderNonces reorders each signer's transactions by nonce within the positions that signer
// already occupies, so that the interleaving of signers, and everything that cannot be
// decoded, stays where it was.
func orderNonces(txs [][]byte) [][]byte {
	nonces := make([]uint64, len(txs))
	slots := map[Address][]int{}
	for i, raw := range txs {
		dtx, err := DecodeTx(raw)
		if err != nil {
			continue
		}
		s := dtx.Signer()
		slots[s] = append(slots[s], i)
		nonces[i] = dtx.Nonce
	}
	out := append([][]byte(nil), txs...)
	for _, pos := range slots {
		if len(pos) < 2 {
			continue
		}
		byNonce := append([]int(nil), pos...)
		sort.SliceStable(byNonce, func(x, y int) bool { return nonces[byNonce[x]] < nonces[byNonce[y]] })
		for k, p := range pos {
			out[p] = txs[byNonce[k]]
		}
	}
	return out
}
