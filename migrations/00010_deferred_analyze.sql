-- An initial load sets the statistics of the loaded tables aside too: deferred_indexes holds
-- an entry (name tables_analyze) that the rebuild removes last, once it has analyzed them, so
-- that the compliance rules, which wait for the table to be empty, never plan on tables
-- without statistics.

-- +goose Up
COMMENT ON TABLE deferred_indexes IS 'Indexes dropped for an initial load and not yet rebuilt, the pending rebuild of balances (name balances_rebuild) and the pending statistics of the loaded tables (name tables_analyze, removed last); while any row is here, queries on the big tables scan, balances are stale and the compliance rules wait.';
COMMENT ON COLUMN deferred_indexes.name IS 'Index name, balances_rebuild or tables_analyze.';
COMMENT ON COLUMN deferred_indexes.definition IS 'Statement that rebuilds it: CREATE INDEX on the table and all its partitions, ADD CONSTRAINT for a primary key, the INSERT that fills balances, or the ANALYZE of the loaded tables.';

-- +goose Down
COMMENT ON TABLE deferred_indexes IS 'Indexes dropped for an initial load and not yet rebuilt, and the pending rebuild of balances (name balances_rebuild); while any row is here, queries on the big tables scan, balances are stale and the compliance rules wait.';
COMMENT ON COLUMN deferred_indexes.name IS 'Index name, or balances_rebuild.';
COMMENT ON COLUMN deferred_indexes.definition IS 'Statement that rebuilds it: CREATE INDEX on the table and all its partitions, ADD CONSTRAINT for a primary key, or the INSERT that fills balances.';
