-- balance_history keyed by account first again, and no secondary index beside it.
--
-- 00008 led the key with the asset so that the holders of an asset at a height read along
-- it. But an index build sorts by its leading column's abbreviated key, and a column of a
-- handful of values settles no comparison: every one went on to the account, the height and
-- the time. Measured on 1.9M rows, the key led by the asset took 14.4 s to build and the one
-- led by the account 6.1 s, the largest part of the index rebuild after an initial load.
-- Holders of an asset are now found by a probe per account (store.HoldingsAt).
--
-- While an initial load has the indexes set aside, the key's recorded definition is
-- changed instead.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM deferred_indexes WHERE name = 'balance_history_pkey') THEN
        UPDATE deferred_indexes SET definition =
            'ALTER TABLE balance_history ADD CONSTRAINT balance_history_pkey PRIMARY KEY (account, asset, height, block_time)'
        WHERE name = 'balance_history_pkey';
    ELSE
        ALTER TABLE balance_history DROP CONSTRAINT balance_history_pkey;
        ALTER TABLE balance_history ADD CONSTRAINT balance_history_pkey PRIMARY KEY (account, asset, height, block_time);
    END IF;
END $$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
BEGIN
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
