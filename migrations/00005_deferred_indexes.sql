-- Indexes set aside while ledgersync loads a chain's history into an empty database: building
-- an index once over all its rows is several times cheaper than maintaining it row by row.

-- +goose Up
CREATE TABLE deferred_indexes (
    name        text PRIMARY KEY,
    table_name  text NOT NULL,
    definition  text NOT NULL,
    deferred_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE deferred_indexes IS 'Secondary indexes dropped for an initial load and not yet rebuilt; while any row is here, queries on the big tables scan, and the compliance rules wait.';
COMMENT ON COLUMN deferred_indexes.name IS 'Index name.';
COMMENT ON COLUMN deferred_indexes.table_name IS 'Table the index is on.';
COMMENT ON COLUMN deferred_indexes.definition IS 'CREATE INDEX statement that rebuilds it, on the table and all its partitions.';
COMMENT ON COLUMN deferred_indexes.deferred_at IS 'When it was dropped.';

-- +goose Down
-- Rebuild what is still deferred, so that going down leaves the schema of 00004.
-- +goose StatementBegin
DO $$
DECLARE d record;
BEGIN
    FOR d IN SELECT definition FROM deferred_indexes ORDER BY name LOOP
        EXECUTE d.definition;
    END LOOP;
END;
$$;
-- +goose StatementEnd
DROP TABLE deferred_indexes;
