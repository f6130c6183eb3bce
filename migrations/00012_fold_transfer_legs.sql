-- A transfer's one leg repeats its transaction row: from the signer to the counterparty, of
-- the tx's asset and amount. Three legs in five were such copies (735k of 1.19M in the
-- catch-up bench), each a second row to COPY and three more index entries (the legs' key,
-- from and to) for an initial load to rebuild; without them the bench's catch-up ran at
-- 48-59k tx/s against 34-39k, in interleaved runs.
-- The legs table keeps the others (the asset and cash legs of a DvP, gateway deliveries)
-- and is named for them, settlement_legs; transfer_legs becomes a view of both, with the
-- columns it had and the tx's hash, so queries over every leg read as before, and without
-- a join for the hash. The view finds a recipient's transfers by a partial index on
-- transactions, and a payer's by the signer index.
-- An index set aside by an initial load in progress (deferred_indexes) stays so, under its
-- new name; the new index joins them.

-- +goose Up
-- +goose StatementBegin
DO $$
DECLARE
    part record;
    bad  bigint;
BEGIN
    -- Folding drops the leg rows: refuse if a transfer's leg is not what its tx row says,
    -- or a successful transfer has no leg, as the view would then say otherwise.
    SELECT count(*) INTO bad FROM transfer_legs l
        LEFT JOIN transactions t ON t.block_time = l.block_time AND t.height = l.height AND t.idx = l.tx_idx
        WHERE l.leg = 'transfer' AND (t.idx IS NULL OR t.type <> 'transfer' OR t.code <> 0 OR l.seq <> 0
            OR t.signer IS DISTINCT FROM l.from_addr OR t.counterparty IS DISTINCT FROM l.to_addr
            OR t.asset <> l.asset OR t.amount <> l.amount);
    IF bad > 0 THEN
        RAISE EXCEPTION '% transfer legs differ from their transactions: not folding them', bad;
    END IF;
    SELECT count(*) INTO bad FROM transactions t
        WHERE t.type = 'transfer' AND t.code = 0 AND NOT EXISTS (SELECT FROM transfer_legs l
            WHERE l.block_time = t.block_time AND l.height = t.height AND l.tx_idx = t.idx AND l.leg = 'transfer');
    IF bad > 0 THEN
        RAISE EXCEPTION '% successful transfers have no leg: not folding their legs', bad;
    END IF;
    DELETE FROM transfer_legs WHERE leg = 'transfer';
    -- The rules read a leg with its tx's hash: a join with transactions per leg took most
    -- of a read of a range's coin movements.
    ALTER TABLE transfer_legs ADD COLUMN tx_hash bytea;
    UPDATE transfer_legs l SET tx_hash = coalesce((SELECT t.hash FROM transactions t
        WHERE t.block_time = l.block_time AND t.height = l.height AND t.idx = l.tx_idx), ''::bytea);
    ALTER TABLE transfer_legs ALTER COLUMN tx_hash SET NOT NULL;

    ALTER TABLE transfer_legs RENAME TO settlement_legs;
    FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'settlement_legs'::regclass LOOP
        EXECUTE format('ALTER TABLE %I RENAME TO %I', part.relname, replace(part.relname, 'transfer_legs', 'settlement_legs'));
    END LOOP;
    ALTER INDEX IF EXISTS transfer_legs_pkey RENAME TO settlement_legs_pkey;
    ALTER INDEX IF EXISTS transfer_legs_from_idx RENAME TO settlement_legs_from_idx;
    ALTER INDEX IF EXISTS transfer_legs_to_idx RENAME TO settlement_legs_to_idx;
    UPDATE deferred_indexes SET name = replace(name, 'transfer_legs', 'settlement_legs'),
        table_name = 'settlement_legs', definition = replace(definition, 'transfer_legs', 'settlement_legs')
        WHERE table_name = 'transfer_legs';
    UPDATE deferred_indexes SET definition = replace(definition, 'transfer_legs', 'settlement_legs')
        WHERE name = 'tables_analyze';

    IF EXISTS (SELECT FROM deferred_indexes WHERE table_name = 'transactions') THEN
        INSERT INTO deferred_indexes (name, table_name, definition) VALUES ('transactions_transfer_to_idx', 'transactions',
            'CREATE INDEX transactions_transfer_to_idx ON transactions USING btree (counterparty, block_time DESC) WHERE ((code = 0) AND (type = ''transfer''::text))');
    ELSE
        CREATE INDEX transactions_transfer_to_idx ON transactions (counterparty, block_time DESC) WHERE code = 0 AND type = 'transfer';
    END IF;
END;
$$;
-- +goose StatementEnd
COMMENT ON TABLE settlement_legs IS 'Each movement of an asset between two accounts but a plain transfer''s (the asset and cash legs of a DvP, gateway deliveries), partitioned by month of block time; transfer_legs shows these and the transfers'' together.';

COMMENT ON COLUMN settlement_legs.tx_hash IS 'Hash of the leg''s transaction; empty for a block''s own (tx_idx -1).';
CREATE VIEW transfer_legs AS
    SELECT block_time, height, idx AS tx_idx, 0::smallint AS seq, 'transfer'::text AS leg,
           signer AS from_addr, counterparty AS to_addr, asset, amount, hash AS tx_hash
    FROM transactions WHERE code = 0 AND type = 'transfer'
    UNION ALL
    SELECT block_time, height, tx_idx, seq, leg, from_addr, to_addr, asset, amount, tx_hash FROM settlement_legs;
COMMENT ON VIEW transfer_legs IS 'Each movement of an asset between two accounts: a successful transfer''s, read from its transaction row, and settlement_legs''.';
COMMENT ON COLUMN transfer_legs.block_time IS 'Time of the block.';
COMMENT ON COLUMN transfer_legs.height IS 'Block height.';
COMMENT ON COLUMN transfer_legs.tx_idx IS 'Position of the tx in the block.';
COMMENT ON COLUMN transfer_legs.seq IS 'Position of the leg in the tx, from 0.';
COMMENT ON COLUMN transfer_legs.leg IS 'transfer, asset or cash (the two legs of a DvP), or settlement (a gateway delivery).';
COMMENT ON COLUMN transfer_legs.from_addr IS 'Paying account.';
COMMENT ON COLUMN transfer_legs.to_addr IS 'Receiving account.';
COMMENT ON COLUMN transfer_legs.asset IS 'Asset symbol.';
COMMENT ON COLUMN transfer_legs.amount IS 'Amount in smallest units.';
COMMENT ON COLUMN transfer_legs.tx_hash IS 'Hash of the leg''s transaction; empty for a block''s own (tx_idx -1).';

-- The partitioned tables are read from the catalog rather than named: a migration that
-- renames or adds one need not restate this function.
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

-- +goose Down
DROP VIEW transfer_legs;
-- +goose StatementBegin
DO $$
DECLARE
    part record;
BEGIN
    IF EXISTS (SELECT FROM deferred_indexes WHERE name = 'transactions_transfer_to_idx') THEN
        DELETE FROM deferred_indexes WHERE name = 'transactions_transfer_to_idx';
    ELSE
        DROP INDEX transactions_transfer_to_idx;
    END IF;

    ALTER TABLE settlement_legs RENAME TO transfer_legs;
    FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'transfer_legs'::regclass LOOP
        EXECUTE format('ALTER TABLE %I RENAME TO %I', part.relname, replace(part.relname, 'settlement_legs', 'transfer_legs'));
    END LOOP;
    ALTER INDEX IF EXISTS settlement_legs_pkey RENAME TO transfer_legs_pkey;
    ALTER INDEX IF EXISTS settlement_legs_from_idx RENAME TO transfer_legs_from_idx;
    ALTER INDEX IF EXISTS settlement_legs_to_idx RENAME TO transfer_legs_to_idx;
    UPDATE deferred_indexes SET name = replace(name, 'settlement_legs', 'transfer_legs'),
        table_name = 'transfer_legs', definition = replace(definition, 'settlement_legs', 'transfer_legs')
        WHERE table_name = 'settlement_legs';
    UPDATE deferred_indexes SET definition = replace(definition, 'settlement_legs', 'transfer_legs')
        WHERE name = 'tables_analyze';

    ALTER TABLE transfer_legs DROP COLUMN tx_hash;
    INSERT INTO transfer_legs (block_time, height, tx_idx, seq, leg, from_addr, to_addr, asset, amount)
        SELECT block_time, height, idx, 0, 'transfer', signer, counterparty, asset, amount
        FROM transactions WHERE code = 0 AND type = 'transfer';
END;
$$;
-- +goose StatementEnd
COMMENT ON TABLE transfer_legs IS 'Each movement of an asset between two accounts, partitioned by month of block time.';

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ensure_month_partitions(t_from timestamptz, t_to timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    m    timestamp := date_trunc('month', t_from AT TIME ZONE 'UTC');
    last timestamp := t_to AT TIME ZONE 'UTC';
    tbl  text;
    part text;
    made integer := 0;
BEGIN
    WHILE m <= last LOOP
        FOREACH tbl IN ARRAY ARRAY['transactions', 'transfer_legs', 'balance_history'] LOOP
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
COMMENT ON FUNCTION ensure_month_partitions(timestamptz, timestamptz) IS 'Creates the missing monthly partitions of transactions, transfer_legs and balance_history covering a time range.';
