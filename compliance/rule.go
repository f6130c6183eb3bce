package compliance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// ErrInvalid means a rule id, a parameter or a value is wrong.
var ErrInvalid = errors.New("invalid rule request")

// Severity ranks a violation for the reviewers' queue.
type Severity string

// Severities, from least to most urgent.
const (
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Subject kinds: what a violation is about.
const (
	SubjectAccount    = "account"
	SubjectOwner      = "owner"
	SubjectAsset      = "asset"
	SubjectMember     = "member"
	SubjectSettlement = "settlement"
)

// Params is a rule's typed parameters. Validate rejects values the rule cannot run with.
type Params interface {
	Validate() error
}

// Range is a range of synced blocks, both ends included, with their block times.
type Range struct {
	From, To         int64
	FromTime, ToTime time.Time
}

// Evidence is one transaction (or block) that contributed to a violation.
type Evidence struct {
	// Tx is the transaction hash (upper-case hex), or a settlement id; empty for a block-end
	// finding.
	Tx     string    `json:"tx,omitempty"`
	Height int64     `json:"height"`
	Time   time.Time `json:"time"`
	// Note says what the transaction did, with its figures in the asset's units.
	Note string `json:"note"`
	// Accounts are the accounts the transaction (or block end) involved, each with the member
	// sponsoring it: a reviewer sees who did what without looking the addresses up.
	Accounts []EvidenceAccount `json:"accounts,omitempty"`
}

// EvidenceAccount is one account in a piece of evidence and what it did there. Amounts are
// integers in the asset's smallest unit; Before and After are the figure the rule reads of
// the account (its balance, its holding, its day's sum) around the evidence, when it reads
// one.
type EvidenceAccount struct {
	Address string `json:"address"`
	// Member sponsors the account.
	Member string `json:"member"`
	// Role is what the account was: from, to, signer, seller, buyer, holder, counterparty.
	Role   string `json:"role"`
	Asset  string `json:"asset,omitempty"`
	Amount *int64 `json:"amount,omitempty"`
	Before *int64 `json:"before,omitempty"`
	After  *int64 `json:"after,omitempty"`
}

// Finding is what a rule reports for one subject and window.
type Finding struct {
	SubjectKind string
	Subject     string
	// WindowKey names the window (a day, a settlement, a transaction): one violation per
	// rule, subject and window.
	WindowKey string
	// Member sponsors the subject account, or for an owner the account that tripped it.
	Member string
	// Members are the members sponsoring the subject's accounts that took part (an owner's
	// payers, both sides of a self-dealing leg), beside Member: the violation is in each
	// one's scope.
	Members []string
	Asset   string
	// Height and Time are where the rule tripped; LastHeight the latest evidence.
	Height     int64
	Time       time.Time
	LastHeight int64
	Summary    string
	Figures    map[string]any
	Evidence   []Evidence
}

// Rule is one supervisory rule: its identity, its documentation and its evaluation.
type Rule struct {
	// ID is stable; violations and versions refer to it.
	ID string
	// Title is a short name for people.
	Title string
	// Source is the legal source of the rule and its default threshold.
	Source   string
	Severity Severity
	// Subject is the kind of subject its violations name.
	Subject string
	// defaults returns a pointer to the rule's parameters at their defaults.
	defaults func() Params
	// eval evaluates the rule over a range of blocks with decoded, validated parameters.
	eval func(ctx context.Context, e *Env, p Params, r Range) ([]Finding, error)
	// shares names the load the rule shares with others through its Env (coin movements,
	// holdings, trades): a pass evaluates such rules together, and the rest beside them.
	shares string
}

// Loads that rules share (Rule.shares).
const (
	sharesCoinMoves = "coin moves"
	sharesHoldings  = "holdings"
	sharesTrades    = "trades"
)

// Defaults returns the rule's parameters at their defaults.
func (r *Rule) Defaults() Params { return r.defaults() }

// Decode reads stored parameters over the defaults (so a parameter added later takes its
// default) and validates them.
func (r *Rule) Decode(raw []byte) (Params, error) {
	p := r.defaults()
	if len(raw) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(p); err != nil {
			return nil, fmt.Errorf("%s parameters: %w: %w", r.ID, ErrInvalid, err)
		}
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%s parameters: %w: %w", r.ID, ErrInvalid, err)
	}
	return p, nil
}

// Evaluate runs the rule over a range of blocks.
func (r *Rule) Evaluate(ctx context.Context, e *Env, p Params, rg Range) ([]Finding, error) {
	fs, err := r.eval(ctx, e, p, rg)
	if err == nil {
		err = e.completeEvidence(ctx, fs)
	}
	if err != nil {
		return nil, fmt.Errorf("rule %s at %d..%d: %w", r.ID, rg.From, rg.To, err)
	}
	return fs, nil
}

// Set changes one parameter, named by its JSON name, from its text form: integers, strings,
// booleans, lists (comma-separated) and maps of strings ("name.key=value") are supported. The
// result is validated.
func Set(p Params, key, value string) error {
	v := reflect.ValueOf(p).Elem()
	name, mapKey, isMap := strings.Cut(key, ".")
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag != name {
			continue
		}
		fv := v.Field(i)
		switch {
		case isMap && fv.Kind() == reflect.Map && fv.Type().Elem().Kind() == reflect.String:
			if fv.IsNil() {
				fv.Set(reflect.MakeMap(fv.Type()))
			}
			if value == "" {
				fv.SetMapIndex(reflect.ValueOf(mapKey), reflect.Value{})
			} else {
				fv.SetMapIndex(reflect.ValueOf(mapKey), reflect.ValueOf(value))
			}
		case isMap:
			return fmt.Errorf("parameter %s is not a map: %w", name, ErrInvalid)
		case fv.Kind() == reflect.Int64 || fv.Kind() == reflect.Int:
			n, err := strconv.ParseInt(strings.ReplaceAll(value, "_", ""), 10, 64)
			if err != nil {
				return fmt.Errorf("parameter %s: %q is not an integer: %w", name, value, ErrInvalid)
			}
			fv.SetInt(n)
		case fv.Kind() == reflect.String:
			fv.SetString(value)
		case fv.Kind() == reflect.Bool:
			b, err := strconv.ParseBool(value)
			if err != nil {
				return fmt.Errorf("parameter %s: %q is not a boolean: %w", name, value, ErrInvalid)
			}
			fv.SetBool(b)
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.String:
			var parts []string
			if value != "" {
				parts = strings.Split(value, ",")
			}
			fv.Set(reflect.ValueOf(parts))
		default:
			return fmt.Errorf("parameter %s cannot be set from text: %w", name, ErrInvalid)
		}
		if err := p.Validate(); err != nil {
			return fmt.Errorf("parameter %s=%s: %w: %w", key, value, ErrInvalid, err)
		}
		return nil
	}
	return fmt.Errorf("no parameter %q: %w", name, ErrInvalid)
}

// ParamNames lists a rule's parameter names, in declaration order.
func ParamNames(p Params) []string {
	t := reflect.TypeOf(p).Elem()
	out := make([]string, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out = append(out, tag)
	}
	return out
}

// RuleByID finds a rule.
func RuleByID(id string) (*Rule, error) {
	for _, r := range Rules() {
		if r.ID == id {
			return r, nil
		}
	}
	return nil, fmt.Errorf("no rule %q: %w", id, ErrInvalid)
}

// NoParams is the parameter set of a rule without parameters (zero tolerance).
type NoParams struct{}

// Validate implements Params.
func (*NoParams) Validate() error { return nil }
