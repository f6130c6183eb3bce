-- balance_history keyed by asset first: the holders of an asset at a height and one
-- holding's history both read along it, and an account's holdings are a probe per asset.
-- The key led with the account before, beside a secondary index on (asset, account, height)
-- that held the same rows again: one of the two went, and with it a third of the table's
-- size and of the index builds after an initial load.
--
-- While an initial load has the indexes set aside, the key's recorded definition is
-- changed instead, and the set-aside index forgotten.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    DELETE FROM deferred_indexes WHERE name = 'balance_history_asset_idx';
    IF EXISTS (SELECT 1 FROM deferred_indexes WHERE name = 'balance_history_pkey') THEN
        UPDATE deferred_indexes SET definition =
            'ALTER TABLE balance_history ADD CONSTRAINT balance_history_pkey PRIMARY KEY (asset, account, height, block_time)'
        WHERE name = 'balance_history_pkey';
    ELSE
        ALTER TABLE balance_history DROP CONSTRAINT balance_history_pkey;
        ALTER TABLE balance_history ADD CONSTRAINT balance_history_pkey PRIMARY KEY (asset, account, height, block_time);
    END IF;
END $$;
-- +goose StatementEnd
DROP INDEX IF EXISTS balance_history_asset_idx;

-- +goose Down
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM deferred_indexes WHERE name = 'balance_history_pkey') THEN
        UPDATE deferred_indexes SET definition =
            'ALTER TABLE balance_history ADD CONSTRAINT balance_history_pkey PRIMARY KEY (account, asset, height, block_time)'
        WHERE name = 'balance_history_pkey';
        INSERT INTO deferred_indexes (name, table_name, definition) VALUES ('balance_history_asset_idx', 'balance_history',
            'CREATE INDEX balance_history_asset_idx ON balance_history USING btree (asset, account, height DESC)');
    ELSE
        ALTER TABLE balance_history DROP CONSTRAINT balance_history_pkey;
        ALTER TABLE balance_history ADD CONSTRAINT balance_history_pkey PRIMARY KEY (account, asset, height, block_time);
        CREATE INDEX balance_history_asset_idx ON balance_history (asset, account, height DESC);
    END IF;
END $$;
-- +goose StatementEnd
