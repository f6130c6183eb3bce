package ledger

import (
	"crypto/ed25519"
	"fmt"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
)

// Sign signs the transaction with one key per signer, the nonce-paying signer first, and
// returns its bytes.
func (tx *Tx) Sign(keys ...ed25519.PrivateKey) []byte {
	msg := tx.SignBytes()
	tx.Sigs = make([]Signature, len(keys))
	for i, k := range keys {
		copy(tx.Sigs[i].PubKey[:], k.Public().(ed25519.PublicKey))
		copy(tx.Sigs[i].Sig[:], ed25519.Sign(k, msg))
	}
	return tx.Encode()
}

// PubKeyOf returns the public half of a private key.
func PubKeyOf(k ed25519.PrivateKey) PubKey {
	var p PubKey
	copy(p[:], k.Public().(ed25519.PublicKey))
	return p
}

// VerifySignatures checks every signature of a decoded tx, one by one. Blocks use
// verifyBatch instead; both follow CometBFT's ZIP-215 rules, so they agree on every input.
func VerifySignatures(dtx *DecodedTx) error {
	for i, s := range dtx.Sigs {
		if !cmted25519.PubKey(s.PubKey[:]).VerifySignature(dtx.Digest, s.Sig[:]) {
			return fmt.Errorf("signature %d by %s does not verify", i, AddressOf(s.PubKey))
		}
	}
	return nil
}

// verifyBatch checks the signatures of several txs at once and reports, per tx, whether all of
// its signatures verify. A failed batch falls back to per-signature results, which the
// verifier returns alongside.
func verifyBatch(txs []*DecodedTx, ok []bool) {
	bv := cmted25519.NewBatchVerifier()
	owner := make([]int, 0, len(txs)+8)
	for i, dtx := range txs {
		if dtx == nil {
			continue
		}
		ok[i] = true
		for _, s := range dtx.Sigs {
			if err := bv.Add(cmted25519.PubKey(s.PubKey[:]), dtx.Digest, s.Sig[:]); err != nil {
				ok[i] = false
				break
			}
			owner = append(owner, i)
		}
	}
	if len(owner) == 0 {
		return
	}
	all, each := bv.Verify()
	if all {
		return
	}
	for j, good := range each {
		if !good {
			ok[owner[j]] = false
		}
	}
}
