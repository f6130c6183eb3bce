-- Compliance rules: versioned parameters, the regulator's watch lists, the violations the
-- rules raise, and the cursor of the rule runner that follows the sync cursor.

-- +goose Up
CREATE TABLE rule_versions (
    rule_id    text NOT NULL,
    version    integer NOT NULL CHECK (version >= 1),
    enabled    boolean NOT NULL,
    params     jsonb NOT NULL,
    created_by text NOT NULL,
    reason     text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (rule_id, version)
);
COMMENT ON TABLE rule_versions IS 'Every version of every rule''s parameters: a change of a parameter is a new version, never an update.';
COMMENT ON COLUMN rule_versions.rule_id IS 'Stable rule id, e.g. LV-IND (see docs/rules.md).';
COMMENT ON COLUMN rule_versions.version IS 'Version of the rule, from 1, one more at each change.';
COMMENT ON COLUMN rule_versions.enabled IS 'Whether the runner evaluates the rule at this version.';
COMMENT ON COLUMN rule_versions.params IS 'The rule''s typed parameters as JSON, complete (defaults filled in).';
COMMENT ON COLUMN rule_versions.created_by IS 'Who made the change.';
COMMENT ON COLUMN rule_versions.reason IS 'Why the change was made.';
COMMENT ON COLUMN rule_versions.created_at IS 'When the change was made (wall clock).';

CREATE TABLE rule_sets (
    version    integer PRIMARY KEY CHECK (version >= 1),
    rules      jsonb NOT NULL,
    created_by text NOT NULL,
    reason     text NOT NULL,
    created_at timestamptz NOT NULL
);
COMMENT ON TABLE rule_sets IS 'Versions of the whole rule set: which version of each rule was in force; a new row at every rule change.';
COMMENT ON COLUMN rule_sets.version IS 'Rule set version, from 1.';
COMMENT ON COLUMN rule_sets.rules IS 'Object mapping each rule id to its version in this set.';
COMMENT ON COLUMN rule_sets.created_by IS 'Who made the change that created this set.';
COMMENT ON COLUMN rule_sets.reason IS 'Why.';
COMMENT ON COLUMN rule_sets.created_at IS 'When (wall clock).';

CREATE TABLE watchlist_versions (
    version    integer PRIMARY KEY CHECK (version >= 1),
    entries    integer NOT NULL,
    digest     bytea NOT NULL,
    created_by text NOT NULL,
    reason     text NOT NULL,
    created_at timestamptz NOT NULL
);
COMMENT ON TABLE watchlist_versions IS 'Uploads of the regulator''s watch list; each upload is a complete new version.';
COMMENT ON COLUMN watchlist_versions.version IS 'Watch list version, from 1.';
COMMENT ON COLUMN watchlist_versions.entries IS 'Number of entries in the upload.';
COMMENT ON COLUMN watchlist_versions.digest IS 'SHA-256 of the uploaded file, to match it with the regulator''s copy.';
COMMENT ON COLUMN watchlist_versions.created_by IS 'Who uploaded it.';
COMMENT ON COLUMN watchlist_versions.reason IS 'Why it was uploaded.';
COMMENT ON COLUMN watchlist_versions.created_at IS 'When (wall clock).';

CREATE TABLE watchlist_entries (
    version integer NOT NULL REFERENCES watchlist_versions (version),
    kind    text NOT NULL CHECK (kind IN ('owner_ref', 'address')),
    value   bytea NOT NULL,
    reason  text NOT NULL,
    PRIMARY KEY (version, kind, value)
);
COMMENT ON TABLE watchlist_entries IS 'The entries of each watch list version.';
COMMENT ON COLUMN watchlist_entries.version IS 'Watch list version.';
COMMENT ON COLUMN watchlist_entries.kind IS 'owner_ref (32 bytes) or address (20 bytes).';
COMMENT ON COLUMN watchlist_entries.value IS 'The owner_ref or the account address.';
COMMENT ON COLUMN watchlist_entries.reason IS 'Why the party is on the list.';

CREATE TABLE violations (
    id           bigserial PRIMARY KEY,
    rule_id      text NOT NULL,
    rule_version integer NOT NULL,
    set_version  integer NOT NULL,
    severity     text NOT NULL,
    subject_kind text NOT NULL,
    subject      text NOT NULL,
    window_key   text NOT NULL,
    member       text NOT NULL DEFAULT '',
    asset        text NOT NULL DEFAULT '',
    height       bigint NOT NULL,
    block_time   timestamptz NOT NULL,
    last_height  bigint NOT NULL,
    summary      text NOT NULL,
    figures      jsonb NOT NULL,
    evidence     jsonb NOT NULL,
    status       text NOT NULL DEFAULT 'open',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    UNIQUE (rule_id, subject, window_key)
);
CREATE INDEX violations_time_idx ON violations (block_time DESC, id DESC);
CREATE INDEX violations_rule_idx ON violations (rule_id, height, id);
CREATE INDEX violations_member_idx ON violations (member, block_time DESC, id DESC);
COMMENT ON TABLE violations IS 'What the compliance rules flagged: one row per rule, subject and window, with the figures and the evidence.';
COMMENT ON COLUMN violations.id IS 'Surrogate key for the workflow.';
COMMENT ON COLUMN violations.rule_id IS 'Rule that raised it.';
COMMENT ON COLUMN violations.rule_version IS 'Version of the rule''s parameters that raised it.';
COMMENT ON COLUMN violations.set_version IS 'Rule set version in force when it was raised.';
COMMENT ON COLUMN violations.severity IS 'low, medium, high or critical.';
COMMENT ON COLUMN violations.subject_kind IS 'account, owner, asset, member or settlement.';
COMMENT ON COLUMN violations.subject IS 'The subject: lower-case hex of an address, upper-case hex of an owner_ref or settlement id, or a symbol or member id.';
COMMENT ON COLUMN violations.window_key IS 'The window the violation covers (a day, a settlement, a transaction): the rule, subject and window are unique, so a replay adds nothing.';
COMMENT ON COLUMN violations.member IS 'Member sponsoring the subject account, for member-scoped views; empty if none.';
COMMENT ON COLUMN violations.asset IS 'Asset concerned; empty if none.';
COMMENT ON COLUMN violations.height IS 'Height at which the rule first tripped.';
COMMENT ON COLUMN violations.block_time IS 'Block time at that height.';
COMMENT ON COLUMN violations.last_height IS 'Height of the latest evidence added to the window.';
COMMENT ON COLUMN violations.summary IS 'One readable sentence.';
COMMENT ON COLUMN violations.figures IS 'The figures that tripped it (sums, thresholds, shares) as JSON; amounts in smallest units.';
COMMENT ON COLUMN violations.evidence IS 'The transactions that tripped it: JSON list of {tx, height, time, note}.';
COMMENT ON COLUMN violations.status IS 'Workflow status: open until a reviewer acts.';
COMMENT ON COLUMN violations.created_at IS 'When it was written (wall clock).';
COMMENT ON COLUMN violations.updated_at IS 'When its evidence last grew (wall clock).';

CREATE TABLE compliance_cursor (
    id          smallint PRIMARY KEY CHECK (id = 1),
    height      bigint NOT NULL,
    block_time  timestamptz NOT NULL,
    set_version integer NOT NULL,
    updated_at  timestamptz NOT NULL
);
COMMENT ON TABLE compliance_cursor IS 'How far the rules have run: it moves in the same transaction as the violations written, and never past the sync cursor.';
COMMENT ON COLUMN compliance_cursor.id IS 'Always 1.';
COMMENT ON COLUMN compliance_cursor.height IS 'Last height every enabled rule has been evaluated at.';
COMMENT ON COLUMN compliance_cursor.block_time IS 'Time of that block.';
COMMENT ON COLUMN compliance_cursor.set_version IS 'Rule set version of the last pass.';
COMMENT ON COLUMN compliance_cursor.updated_at IS 'Wall-clock time of the last pass.';

-- The rules find the settlements that became final or failed in a range of blocks.
CREATE INDEX settlements_opened_height_idx ON settlements (opened_height);
CREATE INDEX settlements_closed_height_idx ON settlements (closed_height) WHERE closed_height IS NOT NULL;
CREATE INDEX settlements_deadline_idx ON settlements (deadline) WHERE kind = 'gateway';
-- Coin movements and transfers of a block range by height, for the rules.
CREATE INDEX transactions_type_height_idx ON transactions (type, height) WHERE code = 0;

-- +goose Down
DROP INDEX transactions_type_height_idx;
DROP INDEX settlements_deadline_idx;
DROP INDEX settlements_closed_height_idx;
DROP INDEX settlements_opened_height_idx;
DROP TABLE compliance_cursor;
DROP TABLE violations;
DROP TABLE watchlist_entries;
DROP TABLE watchlist_versions;
DROP TABLE rule_sets;
DROP TABLE rule_versions;
