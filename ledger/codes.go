package ledger

import "fmt"

// Code is a transaction's result code. Each rejection reason has one code, fixed forever:
// codes are never renumbered or reused, because blocks already on the chain carry them.
type Code uint32

// Result codes, in the order execution checks them.
const (
	CodeOK                 Code = 0
	CodeMalformed          Code = 1  // not a canonical encoding, or fails stateless checks of the envelope
	CodeWrongChain         Code = 2  // signed for another chain
	CodeBadSignature       Code = 3  // a signature does not verify
	CodeUnknownSigner      Code = 4  // the signer has no account
	CodeBadNonce           Code = 5  // nonce is not the account's next
	CodeInvalidField       Code = 6  // a body field is out of range or ill-formed
	CodeSignerFrozen       Code = 7  // the signing account is frozen
	CodeUnauthorized       Code = 8  // the signer may not do this
	CodeMissingCosigner    Code = 9  // a required co-signature is absent
	CodeAccountExists      Code = 10 // the account is already registered
	CodeAccountNotFound    Code = 11 // a named account does not exist
	CodeAccountFrozen      Code = 12 // a counterparty account is frozen
	CodeMemberNotFound     Code = 13 // a named member does not exist or lacks the role
	CodeAssetExists        Code = 14 // the symbol is taken
	CodeAssetNotFound      Code = 15 // the asset does not exist
	CodeAssetFrozen        Code = 16 // the asset is frozen
	CodeInsufficientFunds  Code = 17 // available balance (balance less locked) is too small
	CodeOverflow           Code = 18 // an amount or supply would exceed MaxAmount
	CodeSettlementNotFound Code = 19 // no settlement with that id
	CodeSettlementClosed   Code = 20 // the settlement is already confirmed or failed
	CodeDeadlinePassed     Code = 21 // too late: the deadline has passed
	CodeSameAccount        Code = 22 // both sides are one account
	CodeAlreadyInState     Code = 23 // freezing what is frozen, unfreezing what is active
)

var codeNames = map[Code]string{
	CodeOK: "ok", CodeMalformed: "malformed", CodeWrongChain: "wrong_chain",
	CodeBadSignature: "bad_signature", CodeUnknownSigner: "unknown_signer", CodeBadNonce: "bad_nonce",
	CodeInvalidField: "invalid_field", CodeSignerFrozen: "signer_frozen", CodeUnauthorized: "unauthorized",
	CodeMissingCosigner: "missing_cosigner", CodeAccountExists: "account_exists",
	CodeAccountNotFound: "account_not_found", CodeAccountFrozen: "account_frozen",
	CodeMemberNotFound: "member_not_found", CodeAssetExists: "asset_exists",
	CodeAssetNotFound: "asset_not_found", CodeAssetFrozen: "asset_frozen",
	CodeInsufficientFunds: "insufficient_funds", CodeOverflow: "overflow",
	CodeSettlementNotFound: "settlement_not_found", CodeSettlementClosed: "settlement_closed",
	CodeDeadlinePassed: "deadline_passed",
	CodeSameAccount:    "same_account", CodeAlreadyInState: "already_in_state",
}

// String is the code's stable snake_case name.
func (c Code) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("code(%d)", uint32(c))
}

// Codespace is reported with every non-zero code so that clients can tell our codes from
// CometBFT's own.
const Codespace = "ledger"

// TxError is a rejection: a code and a message for people.
type TxError struct {
	Code Code
	Msg  string
}

func (e *TxError) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Msg) }

func reject(c Code, format string, args ...any) *TxError {
	return &TxError{Code: c, Msg: fmt.Sprintf(format, args...)}
}
