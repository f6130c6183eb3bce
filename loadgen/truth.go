package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
)

// Scenario ids: the rule ids of issue 4 that the injected scenarios trip.
const (
	ScenarioLVInst     = "LV-INST"
	ScenarioLVInd      = "LV-IND"
	ScenarioStruct     = "STRUCT"
	ScenarioHold5      = "HOLD-5"
	ScenarioHold1      = "HOLD-1"
	ScenarioPosLim     = "POS-LIM"
	ScenarioSelf       = "SELF"
	ScenarioMatched    = "MATCHED"
	ScenarioFrozen     = "FROZEN"
	ScenarioSettleFail = "SETTLE-FAIL"
	ScenarioReserve    = "RESERVE"
	ScenarioRapid      = "RAPID"
	ScenarioWatch      = "WATCH"
	ScenarioSession    = "SESSION"
)

// scenarioOrder is the round-robin order in which scenarios are started.
var scenarioOrder = []string{
	ScenarioLVInst, ScenarioLVInd, ScenarioStruct, ScenarioHold5, ScenarioHold1, ScenarioPosLim, ScenarioSelf,
	ScenarioMatched, ScenarioFrozen, ScenarioWatch, ScenarioSettleFail, ScenarioReserve, ScenarioRapid, ScenarioSession,
}

// Scenarios lists the scenario ids the generator can inject, in the order it starts them.
func Scenarios() []string { return slices.Clone(scenarioOrder) }

func validScenario(s string) bool { return slices.Contains(scenarioOrder, s) }

// Label is one line of the ground-truth file: a transaction the rule should flag, or for rules
// over aggregates (LV-*, STRUCT, HOLD-5, HOLD-1, POS-LIM) one subject with the transaction that made it
// cross. Hashes are hex as ledger.Hash.String writes them (upper case), addresses as
// ledger.Address.String (lower case); compare them case-insensitively. Detail holds key=value
// figures for people and for tests.
type Label struct {
	Scenario string `json:"scenario"`
	Tx       string `json:"tx"`
	Subject  string `json:"subject"`
	Detail   string `json:"detail"`
}

// WriteLabels writes labels as JSON lines.
func WriteLabels(w io.Writer, labels []Label) error {
	enc := json.NewEncoder(w)
	for i := range labels {
		if err := enc.Encode(&labels[i]); err != nil {
			return fmt.Errorf("write truth line: %w", err)
		}
	}
	return nil
}
