-- Every member a violation belongs to: each member that sponsors an account in its subject
-- or its evidence (an owner's STRUCT through accounts at two brokers belongs to both). The
-- member scope of `violations list --member` and of the portal reads this column; member
-- stays the member of the subject account (or of the account that first tripped an owner's
-- rule), for display.

-- +goose Up
ALTER TABLE violations ADD COLUMN members text[] NOT NULL DEFAULT '{}';
UPDATE violations SET members = ARRAY[member] WHERE member <> '';
CREATE INDEX violations_members_idx ON violations USING gin (members);
COMMENT ON COLUMN violations.members IS 'Every member that sponsors an account in the subject or the evidence, sorted, no duplicates; grows as later evidence joins the window. Rows written before this column hold their member only.';

-- +goose Down
DROP INDEX violations_members_idx;
ALTER TABLE violations DROP COLUMN members;
