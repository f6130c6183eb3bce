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
COMMENT ON COLUMN rule_state.height IS 'Last block of the pass that wrote the row.';
COMMENT ON COLUMN rule_state.value IS 'The state, as JSON.';

CREATE TABLE rule_state_coverage (
    family  text PRIMARY KEY,
    since   bigint NOT NULL,
    through bigint NOT NULL CHECK (through >= since)
);
COMMENT ON TABLE rule_state_coverage IS 'The blocks a state family has folded without a gap. A pass starting right after through continues from the rows, and a subject without one had nothing in a window that began at since or later; any other pass (after a gap, or a replay) reads the history and starts the family again.';
COMMENT ON COLUMN rule_state_coverage.family IS 'State family, as in rule_state.';
COMMENT ON COLUMN rule_state_coverage.since IS 'First block of the first pass of the run of passes that kept the family.';
COMMENT ON COLUMN rule_state_coverage.through IS 'Last block of the last of them.';

-- +goose Down
DROP TABLE rule_state_coverage;
DROP TABLE rule_state;
