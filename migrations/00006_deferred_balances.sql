-- An initial load sets the current holdings aside too: deferred_indexes may hold, beside the
-- indexes, the statement that fills balances from balance_history once the load has caught up.

-- +goose Up
COMMENT ON TABLE deferred_indexes IS 'Indexes dropped for an initial load and not yet rebuilt, and the pending rebuild of balances (name balances_rebuild); while any row is here, queries on the big tables scan, balances are stale and the compliance rules wait.';
COMMENT ON COLUMN deferred_indexes.name IS 'Index name, or balances_rebuild.';
COMMENT ON COLUMN deferred_indexes.definition IS 'Statement that rebuilds it: CREATE INDEX on the table and all its partitions, ADD CONSTRAINT for a primary key, or the INSERT that fills balances.';

-- +goose Down
COMMENT ON TABLE deferred_indexes IS 'Secondary indexes dropped for an initial load and not yet rebuilt; while any row is here, queries on the big tables scan, and the compliance rules wait.';
COMMENT ON COLUMN deferred_indexes.name IS 'Index name.';
COMMENT ON COLUMN deferred_indexes.definition IS 'CREATE INDEX statement that rebuilds it, on the table and all its partitions.';
