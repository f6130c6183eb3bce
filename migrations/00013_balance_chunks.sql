-- Balance history in chunks: a row per holding per written batch, holding that batch's
-- changes of it as arrays, rather than a row per holding per block. An initial load writes
-- about 1.9M changes per 1M txs among 10k accounts, and those were its most costly rows:
-- their COPY, and the rebuild of their account-first key, the largest step of the index
-- rebuild (3.2-3.7 s). Grouped per batch they were 337k rows, copied in 0.87 s against
-- 1.69 s, their key built in 0.57 s against 3.24 s (measured on a copy of the bench's
-- load). Live, a batch is a block, so a chunk holds one change, as a row did.
-- balance_history becomes a view of the chunks with the columns it had, a row per change;
-- its block time comes from blocks. The holdings queries read the chunks themselves: the
-- last chunk of a holding that starts at or below a height, then the last change in it at
-- or below.
-- A chunk holds at most 256 changes (store.MaxChunkChanges), so that a busy account's
-- lookup never reads long arrays.
-- An initial load in progress (deferred_indexes) keeps its key set aside, under the new
-- table's name, and its pending balances rebuild and statistics read the new table.

-- +goose Up
CREATE TABLE balance_chunks (
    block_time  timestamptz NOT NULL,
    height      bigint NOT NULL,
    last_height bigint NOT NULL,
    account     bytea NOT NULL,
    asset       text NOT NULL,
    heights     bigint[] NOT NULL,
    deltas      bigint[] NOT NULL,
    amounts     bigint[] NOT NULL,
    locked      bigint[] NOT NULL,
    CHECK (cardinality(heights) > 0 AND cardinality(deltas) = cardinality(heights)
        AND cardinality(amounts) = cardinality(heights) AND cardinality(locked) = cardinality(heights)),
    CHECK (heights[1] = height AND heights[cardinality(heights)] = last_height)
) PARTITION BY RANGE (block_time);
COMMENT ON TABLE balance_chunks IS 'Balance history as stored: per holding, the changes one written batch made to it (a block''s when live), at most 256, partitioned by month of the first change''s block time; balance_history shows a row per change.';
COMMENT ON COLUMN balance_chunks.block_time IS 'Time of the block of the first change: the partition key.';
COMMENT ON COLUMN balance_chunks.height IS 'Height of the first change.';
COMMENT ON COLUMN balance_chunks.last_height IS 'Height of the last change.';
COMMENT ON COLUMN balance_chunks.account IS 'Account address.';
COMMENT ON COLUMN balance_chunks.asset IS 'Asset symbol.';
COMMENT ON COLUMN balance_chunks.heights IS 'Block height of each change, ascending.';
COMMENT ON COLUMN balance_chunks.deltas IS 'Net change of the amount in each of those blocks, in smallest units.';
COMMENT ON COLUMN balance_chunks.amounts IS 'Holding after each of those blocks.';
COMMENT ON COLUMN balance_chunks.locked IS 'Part of the holding locked for settlements after each of those blocks.';

-- +goose StatementBegin
DO $$
DECLARE
    part record;
BEGIN
    FOR part IN SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'balance_history'::regclass LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF balance_chunks %s',
            replace(part.relname, 'balance_history', 'balance_chunks'), part.bound);
    END LOOP;
    -- A chunk stays in one month, so that it lies in the partition of its changes.
    INSERT INTO balance_chunks (block_time, height, last_height, account, asset, heights, deltas, amounts, locked)
        SELECT min(block_time), min(height), max(height), account, asset, array_agg(height ORDER BY height),
            array_agg(delta ORDER BY height), array_agg(amount ORDER BY height), array_agg(locked ORDER BY height)
        FROM (SELECT *, (row_number() OVER (PARTITION BY account, asset, date_trunc('month', block_time AT TIME ZONE 'UTC')
                ORDER BY height) - 1) / 256 AS n FROM balance_history) h
        GROUP BY account, asset, date_trunc('month', block_time AT TIME ZONE 'UTC'), n;
    IF EXISTS (SELECT FROM deferred_indexes WHERE name = 'balance_history_pkey') THEN
        UPDATE deferred_indexes SET name = 'balance_chunks_pkey', table_name = 'balance_chunks',
            definition = 'ALTER TABLE balance_chunks ADD CONSTRAINT balance_chunks_pkey PRIMARY KEY (account, asset, height, block_time)'
            WHERE name = 'balance_history_pkey';
    ELSE
        ALTER TABLE balance_chunks ADD CONSTRAINT balance_chunks_pkey PRIMARY KEY (account, asset, height, block_time);
    END IF;
    -- No other index of balance_history is left since 00009; one set aside would name a view.
    DELETE FROM deferred_indexes WHERE table_name = 'balance_history';
    UPDATE deferred_indexes SET definition = 'INSERT INTO balances (account, asset, amount, locked, height)
	SELECT DISTINCT ON (account, asset) account, asset, amounts[cardinality(amounts)], locked[cardinality(locked)], last_height
	FROM balance_chunks ORDER BY account, asset, height DESC
	ON CONFLICT (account, asset) DO UPDATE SET amount = EXCLUDED.amount, locked = EXCLUDED.locked, height = EXCLUDED.height
	WHERE balances.height <= EXCLUDED.height'
        WHERE name = 'balances_rebuild';
    UPDATE deferred_indexes SET definition = replace(definition, 'balance_history', 'balance_chunks')
        WHERE name = 'tables_analyze';
END;
$$;
-- +goose StatementEnd
DROP TABLE balance_history;

CREATE VIEW balance_history AS
    SELECT b.time AS block_time, u.height, c.account, c.asset, u.delta, u.amount, u.locked
    FROM balance_chunks c
    CROSS JOIN LATERAL unnest(c.heights, c.deltas, c.amounts, c.locked) AS u(height, delta, amount, locked)
    JOIN blocks b ON b.height = u.height;
COMMENT ON VIEW balance_history IS 'Every change of a holding, one row per account, asset and block (the block''s net change), read from balance_chunks: holdings at any height are the last row at or below it.';
COMMENT ON COLUMN balance_history.block_time IS 'Time of the block.';
COMMENT ON COLUMN balance_history.height IS 'Block height of the change.';
COMMENT ON COLUMN balance_history.account IS 'Account address.';
COMMENT ON COLUMN balance_history.asset IS 'Asset symbol.';
COMMENT ON COLUMN balance_history.delta IS 'Net change of the amount in that block, in smallest units.';
COMMENT ON COLUMN balance_history.amount IS 'Holding after the block.';
COMMENT ON COLUMN balance_history.locked IS 'Part of the holding locked for settlements after the block.';
-- No query filters on the arrays, and their statistics (most common elements and their
-- histogram) were 60% of the table's ANALYZE after a load: 455 ms against 185 without.
ALTER TABLE balance_chunks ALTER COLUMN heights SET STATISTICS 0, ALTER COLUMN deltas SET STATISTICS 0,
    ALTER COLUMN amounts SET STATISTICS 0, ALTER COLUMN locked SET STATISTICS 0;
-- The partitions made above take the targets from the ALTER TABLE; those made from here on,
-- from ensure_month_partitions.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ensure_month_partitions(t_from timestamptz, t_to timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    m    timestamp := date_trunc('month', t_from AT TIME ZONE 'UTC');
    last timestamp := t_to AT TIME ZONE 'UTC';
    tbls text[];
    tbl  text;
    part text;
    made integer := 0;
    col  record;
BEGIN
    SELECT coalesce(array_agg(c.relname::text ORDER BY c.relname), '{}') INTO tbls
        FROM pg_partitioned_table p
        JOIN pg_class c ON c.oid = p.partrelid
        JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
        WHERE p.partstrat = 'r' AND p.partnatts = 1 AND a.attname = 'block_time'
          AND c.relnamespace = current_schema()::regnamespace;
    WHILE m <= last LOOP
        FOREACH tbl IN ARRAY tbls LOOP
            part := tbl || '_p' || to_char(m, 'YYYYMM');
            IF to_regclass(part) IS NULL THEN
                EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                    part, tbl, (m AT TIME ZONE 'UTC'), ((m + interval '1 month') AT TIME ZONE 'UTC'));
                -- A partition takes its parent's columns but not their statistics targets.
                FOR col IN SELECT attname, attstattarget FROM pg_attribute
                        WHERE attrelid = tbl::regclass AND attnum > 0 AND NOT attisdropped AND attstattarget >= 0 LOOP
                    EXECUTE format('ALTER TABLE %I ALTER COLUMN %I SET STATISTICS %s', part, col.attname, col.attstattarget);
                END LOOP;
                made := made + 1;
            END IF;
        END LOOP;
        m := m + interval '1 month';
    END LOOP;
    RETURN made;
END;
$$;
-- +goose StatementEnd
COMMENT ON FUNCTION ensure_month_partitions(timestamptz, timestamptz) IS 'Creates the missing monthly partitions, covering a time range, of every table partitioned by block_time (transactions, settlement_legs and balance_chunks), with their parent''s statistics targets.';

-- +goose Down
DROP VIEW balance_history;
CREATE TABLE balance_history (
    block_time timestamptz NOT NULL,
    height     bigint NOT NULL,
    account    bytea NOT NULL,
    asset      text NOT NULL,
    delta      bigint NOT NULL,
    amount     bigint NOT NULL CHECK (amount >= 0),
    locked     bigint NOT NULL CHECK (locked >= 0 AND locked <= amount)
) PARTITION BY RANGE (block_time);
COMMENT ON TABLE balance_history IS 'Every change of a holding, one row per account, asset and block (the block''s net change), partitioned by month of block time: holdings at any height are the last row at or below it.';
COMMENT ON COLUMN balance_history.block_time IS 'Time of the block: the partition key.';
COMMENT ON COLUMN balance_history.height IS 'Block height of the change.';
COMMENT ON COLUMN balance_history.account IS 'Account address.';
COMMENT ON COLUMN balance_history.asset IS 'Asset symbol.';
COMMENT ON COLUMN balance_history.delta IS 'Net change of the amount in that block, in smallest units.';
COMMENT ON COLUMN balance_history.amount IS 'Holding after the block.';
COMMENT ON COLUMN balance_history.locked IS 'Part of the holding locked for settlements after the block.';
-- +goose StatementBegin
DO $$
DECLARE
    part record;
BEGIN
    FOR part IN SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'balance_chunks'::regclass LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF balance_history %s',
            replace(part.relname, 'balance_chunks', 'balance_history'), part.bound);
    END LOOP;
    INSERT INTO balance_history (block_time, height, account, asset, delta, amount, locked)
        SELECT b.time, u.height, c.account, c.asset, u.delta, u.amount, u.locked
        FROM balance_chunks c
        CROSS JOIN LATERAL unnest(c.heights, c.deltas, c.amounts, c.locked) AS u(height, delta, amount, locked)
        JOIN blocks b ON b.height = u.height;
    IF EXISTS (SELECT FROM deferred_indexes WHERE name = 'balance_chunks_pkey') THEN
        UPDATE deferred_indexes SET name = 'balance_history_pkey', table_name = 'balance_history',
            definition = 'ALTER TABLE balance_history ADD CONSTRAINT balance_history_pkey PRIMARY KEY (account, asset, height, block_time)'
            WHERE name = 'balance_chunks_pkey';
    ELSE
        ALTER TABLE balance_history ADD CONSTRAINT balance_history_pkey PRIMARY KEY (account, asset, height, block_time);
    END IF;
    UPDATE deferred_indexes SET definition = 'INSERT INTO balances (account, asset, amount, locked, height)
	SELECT DISTINCT ON (account, asset) account, asset, amount, locked, height
	FROM balance_history ORDER BY account, asset, height DESC
	ON CONFLICT (account, asset) DO UPDATE SET amount = EXCLUDED.amount, locked = EXCLUDED.locked, height = EXCLUDED.height
	WHERE balances.height <= EXCLUDED.height'
        WHERE name = 'balances_rebuild';
    UPDATE deferred_indexes SET definition = replace(definition, 'balance_chunks', 'balance_history')
        WHERE name = 'tables_analyze';
END;
$$;
-- +goose StatementEnd
DROP TABLE balance_chunks;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ensure_month_partitions(t_from timestamptz, t_to timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    m    timestamp := date_trunc('month', t_from AT TIME ZONE 'UTC');
    last timestamp := t_to AT TIME ZONE 'UTC';
    tbls text[];
    tbl  text;
    part text;
    made integer := 0;
BEGIN
    SELECT coalesce(array_agg(c.relname::text ORDER BY c.relname), '{}') INTO tbls
        FROM pg_partitioned_table p
        JOIN pg_class c ON c.oid = p.partrelid
        JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
        WHERE p.partstrat = 'r' AND p.partnatts = 1 AND a.attname = 'block_time'
          AND c.relnamespace = current_schema()::regnamespace;
    WHILE m <= last LOOP
        FOREACH tbl IN ARRAY tbls LOOP
            part := tbl || '_p' || to_char(m, 'YYYYMM');
            IF to_regclass(part) IS NULL THEN
                EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                    part, tbl, (m AT TIME ZONE 'UTC'), ((m + interval '1 month') AT TIME ZONE 'UTC'));
                made := made + 1;
            END IF;
        END LOOP;
        m := m + interval '1 month';
    END LOOP;
    RETURN made;
END;
$$;
-- +goose StatementEnd
COMMENT ON FUNCTION ensure_month_partitions(timestamptz, timestamptz) IS 'Creates the missing monthly partitions, covering a time range, of every table partitioned by block_time (transactions, settlement_legs and balance_history).';
