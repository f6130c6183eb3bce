-- Window state of the compliance rules, carried from one pass to the next so that a pass
-- reads the blocks it covers rather than the whole window behind them, written in the
-- pass's transaction with the violations and the cursor.

-- +goose Up
CREATE TABLE rule_state (
    family text NOT NULL,
    key    text NOT NULL,
    height bigint NOT NULL,
    value  jsonb NOT NULL,
    PRIMARY KEY (family, key)
);
COMMENT ON TABLE rule_state IS 'Window state of the compliance rules, one row per state family and subject (and window), as of the last pass that changed it.';
COMMENT ON COLUMN rule_state.family IS 'What the state is and under which parameters, e.g. lv-day (coin moved per account and Shanghai day) or HOLD-1/500/100 (an owner''s base holding above the threshold).';
COMMENT ON COLUMN rule_state.key IS 'Subject and window within the family, e.g. 2026-12-01|<account hex>.';
COMMENT ON COLUMN rule_state.height IS 'Last block folded into the value: a pass starting at or below it (a replay) ignores the row and reads the history instead.';
COMMENT ON COLUMN rule_state.value IS 'The state, as JSON.';

CREATE TABLE rule_state_coverage (
    family text PRIMARY KEY,
    since  bigint NOT NULL
);
COMMENT ON TABLE rule_state_coverage IS 'From which height a state family has a row for every subject that moved: a subject without one had nothing in a window that began there or later.';
COMMENT ON COLUMN rule_state_coverage.family IS 'State family, as in rule_state.';
COMMENT ON COLUMN rule_state_coverage.since IS 'First block of the first pass that kept the family.';

-- +goose Down
DROP TABLE rule_state_coverage;
DROP TABLE rule_state;
