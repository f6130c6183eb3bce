-- The portal's own audit trail: who signed in, read, searched, was refused or changed what.
-- Append-only and hash-chained: each row carries the SHA-256 of the previous row's hash and
-- its own content, so an edited, deleted or inserted row breaks the chain at that row. The
-- table refuses UPDATE, DELETE and TRUNCATE; a retention job drops whole old months instead
-- and records the cut in audit_cuts, where the chain then starts.

-- +goose Up
CREATE TABLE audit_log (
    id          bigint NOT NULL,
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    role        text NOT NULL DEFAULT '',
    member      text NOT NULL DEFAULT '',
    action      text NOT NULL,
    route       text NOT NULL DEFAULT '',
    detail      jsonb NOT NULL DEFAULT '{}',
    client_addr text NOT NULL DEFAULT '',
    prev_hash   bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash        bytea NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (at, id)
) PARTITION BY RANGE (at);
CREATE INDEX audit_log_id_idx ON audit_log (id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, at DESC);
COMMENT ON TABLE audit_log IS 'The portal''s audit trail, append-only and hash-chained; partitioned by month of at.';
COMMENT ON COLUMN audit_log.id IS 'Position in the chain, from 1, without gaps.';
COMMENT ON COLUMN audit_log.at IS 'When it happened (the partition key).';
COMMENT ON COLUMN audit_log.actor IS 'User name; the name typed for a failed sign-in; empty for an anonymous request.';
COMMENT ON COLUMN audit_log.role IS 'The role of the binding the request was allowed under, if any.';
COMMENT ON COLUMN audit_log.member IS 'That binding''s member, * for all.';
COMMENT ON COLUMN audit_log.action IS 'login, login_failed, logout, second_factor, second_factor_failed, read, search, denied, admin.';
COMMENT ON COLUMN audit_log.route IS 'The route, e.g. GET /transactions.';
COMMENT ON COLUMN audit_log.detail IS 'What was asked and answered: filters, ids, result count, the change made.';
COMMENT ON COLUMN audit_log.client_addr IS 'Client address.';
COMMENT ON COLUMN audit_log.prev_hash IS 'hash of the row before (id - 1), or of the last row cut away, or 32 zero bytes for the first row.';
COMMENT ON COLUMN audit_log.hash IS 'SHA-256 over prev_hash and the row''s canonical content (store.AuditEntry.Hash).';

CREATE TABLE audit_head (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_id bigint NOT NULL,
    hash    bytea NOT NULL CHECK (length(hash) = 32)
);
INSERT INTO audit_head (last_id, hash) VALUES (0, '\x0000000000000000000000000000000000000000000000000000000000000000');
COMMENT ON TABLE audit_head IS 'The chain''s last row: id and hash. Locked by each append, which serialises the chain across web replicas.';
COMMENT ON COLUMN audit_head.one IS 'There is one row.';
COMMENT ON COLUMN audit_head.last_id IS 'id of the last row appended.';
COMMENT ON COLUMN audit_head.hash IS 'Its hash.';

CREATE TABLE audit_cuts (
    cut_at     timestamptz NOT NULL PRIMARY KEY,
    before     timestamptz NOT NULL,
    last_id    bigint NOT NULL,
    last_hash  bytea NOT NULL CHECK (length(last_hash) = 32),
    rows       bigint NOT NULL,
    by_whom    text NOT NULL
);
COMMENT ON TABLE audit_cuts IS 'Retention cuts: whole months of audit_log dropped, and where the chain continues.';
COMMENT ON COLUMN audit_cuts.cut_at IS 'When the cut was made.';
COMMENT ON COLUMN audit_cuts.before IS 'Every row before this time was dropped.';
COMMENT ON COLUMN audit_cuts.last_id IS 'id of the last row dropped; the first row kept is last_id + 1.';
COMMENT ON COLUMN audit_cuts.last_hash IS 'hash of the last row dropped: the first row kept chains to it.';
COMMENT ON COLUMN audit_cuts.rows IS 'How many rows were dropped.';
COMMENT ON COLUMN audit_cuts.by_whom IS 'Who ran the retention.';

-- +goose StatementBegin
CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd
COMMENT ON FUNCTION audit_log_refuse() IS 'Refuses any change to the audit trail but an append.';
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();

-- +goose StatementBegin
CREATE FUNCTION audit_row_hash(prev bytea, id bigint, at timestamptz, actor text, role text, member text,
        action text, route text, detail jsonb, client_addr text) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT sha256(prev || convert_to(
        length(id::text) || ':' || id::text ||
        '|26:' || to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') ||
        '|' || length(actor) || ':' || actor || '|' || length(role) || ':' || role ||
        '|' || length(member) || ':' || member || '|' || length(action) || ':' || action ||
        '|' || length(route) || ':' || route || '|' || length(detail::text) || ':' || detail::text ||
        '|' || length(client_addr) || ':' || client_addr, 'UTF8'))
$$;
-- +goose StatementEnd
COMMENT ON FUNCTION audit_row_hash(bytea, bigint, timestamptz, text, text, text, text, text, jsonb, text) IS 'The hash of an audit row: SHA-256 of the previous hash and the row''s fields, each length-prefixed, in canonical text (time in UTC to the microsecond, jsonb as PostgreSQL prints it). The one definition, used to append and to verify.';

-- +goose StatementBegin
CREATE FUNCTION ensure_audit_partition(t timestamptz) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    m    timestamp := date_trunc('month', t AT TIME ZONE 'UTC');
    part text := 'audit_log_p' || to_char(m, 'YYYYMM');
BEGIN
    IF to_regclass(part) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF audit_log FOR VALUES FROM (%L) TO (%L)',
            part, (m AT TIME ZONE 'UTC'), ((m + interval '1 month') AT TIME ZONE 'UTC'));
    END IF;
END;
$$;
-- +goose StatementEnd
COMMENT ON FUNCTION ensure_audit_partition(timestamptz) IS 'Creates the month''s partition of audit_log if missing.';

-- +goose Down
DROP FUNCTION ensure_audit_partition(timestamptz);
DROP FUNCTION audit_row_hash(bytea, bigint, timestamptz, text, text, text, text, text, jsonb, text);
DROP TABLE audit_cuts;
DROP TABLE audit_head;
DROP TABLE audit_log;
DROP FUNCTION audit_log_refuse();
