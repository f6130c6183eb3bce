package ledger

import (
	"crypto/ed25519"
	crand "crypto/rand"
	"fmt"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519/extra/cache"
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

// verifyOptions are CometBFT's: ZIP-215 rules, under which single and batch verification
// accept exactly the same signatures, so CheckTx and FinalizeBlock can never disagree.
var verifyOptions = &voi.Options{Verify: voi.VerifyOptionsZIP_215}

// keyCacheSize is how many accounts' public keys stay decompressed for verification.
// Decompressing costs about a third of a verification; CometBFT's own cache of 4096 keys
// thrashes once more accounts than that are active.
const keyCacheSize = 1 << 16

// verifier verifies with the decompressed-key cache; it is safe for concurrent use.
var verifier = cache.NewVerifier(cache.NewLRUCache(keyCacheSize))

// VerifySignatures checks every signature of a decoded tx, one by one. Blocks use
// verifyBatch instead; both follow the ZIP-215 rules, so they agree on every input.
func VerifySignatures(dtx *DecodedTx) error {
	for i, s := range dtx.Sigs {
		if !verifier.VerifyWithOptions(voi.PublicKey(s.PubKey[:]), dtx.Digest, s.Sig[:], verifyOptions) {
			return fmt.Errorf("signature %d by %s does not verify", i, AddressOf(s.PubKey))
		}
	}
	return nil
}

// verifyBatch checks the signatures of several txs at once and reports, per tx, whether all of
// its signatures verify. When the batch fails, the verifier tells which entries did.
func verifyBatch(txs []*DecodedTx, ok []bool) {
	bv := voi.NewBatchVerifierWithCapacity(len(txs) + 8)
	owner := make([]int, 0, len(txs)+8)
	for i, dtx := range txs {
		if dtx == nil {
			continue
		}
		ok[i] = true
		for _, s := range dtx.Sigs {
			verifier.AddWithOptions(bv, voi.PublicKey(s.PubKey[:]), dtx.Digest, s.Sig[:], verifyOptions)
			owner = append(owner, i)
		}
	}
	if len(owner) == 0 {
		return
	}
	all, each := bv.Verify(crand.Reader)
	if all {
		return
	}
	for j, good := range each {
		if !good {
			ok[owner[j]] = false
		}
	}
}
