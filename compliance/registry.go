package compliance

import (
	"context"
	"sort"
)

// Rule ids: stable, as in issue 4 and docs/rules.md.
const (
	RuleLVInst     = "LV-INST"
	RuleLVInd      = "LV-IND"
	RuleStruct     = "STRUCT"
	RuleHold5      = "HOLD-5"
	RuleHold1      = "HOLD-1"
	RulePosLim     = "POS-LIM"
	RuleSelf       = "SELF"
	RuleMatched    = "MATCHED"
	RuleFrozen     = "FROZEN"
	RuleWatch      = "WATCH"
	RuleSettleFail = "SETTLE-FAIL"
	RuleDvPAtom    = "DVP-ATOM"
	RuleReserve    = "RESERVE"
	RuleAttestAge  = "ATTEST-AGE"
	RuleRapid      = "RAPID"
	RuleSession    = "SESSION"
)

// lvSource is the source of both large-value rules.
const lvSource = "PBOC Order [2016] No. 3 (Measures for Large-Value and Suspicious Transaction Reports), art. 5"

// Rules returns every rule, by id. Here, in the order of docs/rules.md, is what each is
// called, how urgent it is, what its violations name, the legal source of its threshold and
// its defaults: a reviewer reads them side by side. A rule's parameters and evaluation are
// in its own file, rule_<id>.go.
func Rules() []*Rule {
	out := []*Rule{
		{ID: RuleLVInst, Title: "Large-value transfer, institution", Severity: SeverityMedium, Subject: SubjectAccount,
			Source: lvSource, shares: sharesCoinMoves, eval: typed(lvEval("institution")),
			defaults: func() Params { return &LVParams{Threshold: defaultLVInstitution} }},
		{ID: RuleLVInd, Title: "Large-value transfer, individual", Severity: SeverityMedium, Subject: SubjectAccount,
			Source: lvSource, shares: sharesCoinMoves, eval: typed(lvEval("individual")),
			defaults: func() Params { return &LVParams{Threshold: defaultLVIndividual} }},
		{ID: RuleStruct, Title: "Structuring below the large-value threshold", Severity: SeverityHigh, Subject: SubjectOwner,
			Source: "PBOC Order [2016] No. 3, art. 11 and 13 (suspicious transactions: splitting to avoid reporting)",
			shares: sharesCoinMoves, eval: typed(evalStruct),
			defaults: func() Params {
				return &StructParams{RatioBP: 9000, MinCount: 3, WindowSeconds: 5 * 86400,
					ThresholdIndividual: defaultLVIndividual, ThresholdInstitution: defaultLVInstitution}
			}},
		{ID: RuleHold5, Title: "5% holding threshold crossed", Severity: SeverityHigh, Subject: SubjectOwner,
			Source: "Securities Law of the PRC (2019), art. 63 para. 1 and 2",
			shares: sharesHoldings, eval: typed(evalHold5),
			defaults: func() Params { return &HoldParams{StepBP: 500} }},
		{ID: RuleHold1, Title: "1% change of a holding above 5%", Severity: SeverityMedium, Subject: SubjectOwner,
			Source: "Securities Law of the PRC (2019), art. 63 para. 3",
			shares: sharesHoldings, eval: typed(evalHold1),
			defaults: func() Params { return &Hold1Params{ThresholdBP: 500, ChangeBP: 100} }},
		{ID: RulePosLim, Title: "Futures position limit exceeded", Severity: SeverityHigh, Subject: SubjectOwner,
			Source: "Futures and Derivatives Law of the PRC (2022), art. 26; Measures for the Administration of Futures Exchanges, art. 84 (position limits)",
			shares: sharesHoldings, eval: typed(evalPosLim),
			defaults: func() Params { return &PosLimParams{Limits: map[string]string{}} }},
		{ID: RuleSelf, Title: "Self-dealing or wash trade", Severity: SeverityHigh, Subject: SubjectOwner,
			Source:   "Securities Law of the PRC (2019), art. 55 para. 1 (3) (trading between accounts one controls); flag all",
			eval:     typed(evalSelf),
			defaults: func() Params { return &NoParams{} }},
		{ID: RuleMatched, Title: "Matched trades between linked owners", Severity: SeverityHigh, Subject: SubjectOwner,
			Source: "Securities Law of the PRC (2019), art. 55 para. 1 (2) (matched orders with a related party)",
			shares: sharesTrades, eval: typed(evalMatched),
			defaults: func() Params { return &MatchedParams{WindowSeconds: 5, ToleranceBP: 100} }},
		{ID: RuleFrozen, Title: "Activity by or to a frozen account", Severity: SeverityHigh, Subject: SubjectAccount,
			Source:   "Securities Law of the PRC (2019), art. 170 (freezing by the CSRC); zero tolerance",
			eval:     typed(evalFrozen),
			defaults: func() Params { return &NoParams{} }},
		{ID: RuleWatch, Title: "Party on the regulator's watch list", Severity: SeverityCritical, Subject: SubjectAccount,
			Source:   "Anti-Money Laundering Law of the PRC (2024), art. 40 (lists of persons under measures); zero tolerance",
			eval:     typed(evalWatch),
			defaults: func() Params { return &WatchParams{} }},
		{ID: RuleSettleFail, Title: "Gateway settlement failed or past its deadline", Severity: SeverityMedium, Subject: SubjectAccount,
			Source:   "CSRC/PBOC rules on delivery versus payment (Securities Law art. 158); zero tolerance",
			eval:     typed(evalSettleFail),
			defaults: func() Params { return &NoParams{} }},
		{ID: RuleDvPAtom, Title: "DvP without both legs", Severity: SeverityCritical, Subject: SubjectSettlement,
			Source: "CPMI-IOSCO Principles for Financial Market Infrastructures, principle 12 (DvP); must never happen",
			shares: sharesTrades, eval: typed(evalDvPAtom),
			defaults: func() Params { return &NoParams{} }},
		{ID: RuleReserve, Title: "Coin supply above attested reserves", Severity: SeverityCritical, Subject: SubjectAsset,
			Source:   "PBOC Measures on the Administration of Payment Institutions' Client Reserve Funds (2021), art. 6-8 (full reserve); 100%",
			eval:     typed(evalReserve),
			defaults: func() Params { return &NoParams{} }},
		{ID: RuleAttestAge, Title: "Reserve attestation too old", Severity: SeverityHigh, Subject: SubjectAsset,
			Source:   "PBOC Measures on Client Reserve Funds (2021), art. 29 (monthly reconciliation); 31 days",
			eval:     typed(evalAttestAge),
			defaults: func() Params { return &AttestAgeParams{MaxAgeSeconds: 31 * 86400} }},
		{ID: RuleRapid, Title: "Rapid in-and-out of funds", Severity: SeverityMedium, Subject: SubjectAccount,
			Source: "PBOC Order [2016] No. 3, art. 11 (funds moved in and out quickly, little balance left)",
			shares: sharesCoinMoves, eval: typed(evalRapid),
			defaults: func() Params { return &RapidParams{SharePct: 90, WindowSeconds: 3600, LeftPct: 10} }},
		{ID: RuleSession, Title: "Trade outside the venue's session", Severity: SeverityLow, Subject: SubjectMember,
			Source: "Trading rules of the venue (e.g. SZSE Trading Rules 2023, ch. 3 section 1 trading hours); venue parameter",
			shares: sharesTrades, eval: typed(evalSession),
			defaults: func() Params {
				return &SessionParams{Weekdays: true, Sessions: map[string]string{
					"SZFE": securitiesSessions, "TJCE": commoditiesSessions, "SHCX": commoditiesSessions, "CQCE": commoditiesSessions}}
			}},
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// typed adapts a rule's evaluation over its own parameter type to Rule.eval, which the
// runner calls with the parameters Rule.Decode made from the rule's defaults.
func typed[P Params](eval func(context.Context, *Env, P, Range) ([]Finding, error)) func(context.Context, *Env, Params, Range) ([]Finding, error) {
	return func(ctx context.Context, e *Env, p Params, r Range) ([]Finding, error) {
		return eval(ctx, e, p.(P), r)
	}
}
