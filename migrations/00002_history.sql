-- The big time-ordered tables, range-partitioned by month of block time so that old months
-- can be detached and scans of recent history touch recent partitions only.

-- +goose Up
CREATE TABLE transactions (
    block_time   timestamptz NOT NULL,
    height       bigint NOT NULL,
    idx          integer NOT NULL,
    hash         bytea NOT NULL,
    type         text NOT NULL,
    signer       bytea,
    member       text NOT NULL DEFAULT '',
    nonce        bigint NOT NULL DEFAULT 0,
    asset        text NOT NULL DEFAULT '',
    amount       bigint NOT NULL DEFAULT 0,
    counterparty bytea,
    code         integer NOT NULL,
    reason       text NOT NULL DEFAULT '',
    memo         text NOT NULL DEFAULT '',
    PRIMARY KEY (block_time, height, idx)
) PARTITION BY RANGE (block_time);
-- Keyset pages filtered by member and asset, newest first.
CREATE INDEX transactions_member_asset_idx ON transactions (member, asset, block_time DESC, height DESC, idx DESC);
-- An account's transactions, newest first.
CREATE INDEX transactions_signer_idx ON transactions (signer, block_time DESC, height DESC, idx DESC);
CREATE INDEX transactions_hash_idx ON transactions (hash);
COMMENT ON TABLE transactions IS 'Every transaction of every block, failed ones included, partitioned by month of block time.';
COMMENT ON COLUMN transactions.block_time IS 'Time of the block: the partition key.';
COMMENT ON COLUMN transactions.height IS 'Block height.';
COMMENT ON COLUMN transactions.idx IS 'Position in the block, from 0.';
COMMENT ON COLUMN transactions.hash IS 'SHA-256 of the tx bytes, as CometBFT reports it.';
COMMENT ON COLUMN transactions.type IS 'Tx type, e.g. transfer; empty when the bytes did not decode.';
COMMENT ON COLUMN transactions.signer IS 'Address of the first signer; NULL when the bytes did not decode.';
COMMENT ON COLUMN transactions.member IS 'Member that sponsors the signer (the member itself for its operator); empty if none.';
COMMENT ON COLUMN transactions.nonce IS 'Signer''s nonce.';
COMMENT ON COLUMN transactions.asset IS 'The asset the tx is about (the asset leg of a DvP); empty if none.';
COMMENT ON COLUMN transactions.amount IS 'Its quantity in smallest units; 0 if none.';
COMMENT ON COLUMN transactions.counterparty IS 'The other account: recipient, buyer, or the account frozen; NULL if none.';
COMMENT ON COLUMN transactions.code IS 'Execution result code; 0 is success.';
COMMENT ON COLUMN transactions.reason IS 'Why it failed; empty on success.';
COMMENT ON COLUMN transactions.memo IS 'The sender''s memo.';

CREATE TABLE transfer_legs (
    block_time  timestamptz NOT NULL,
    height      bigint NOT NULL,
    tx_idx      integer NOT NULL,
    seq         smallint NOT NULL,
    leg         text NOT NULL,
    from_addr   bytea NOT NULL,
    to_addr     bytea NOT NULL,
    asset       text NOT NULL,
    amount      bigint NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (block_time, height, tx_idx, seq)
) PARTITION BY RANGE (block_time);
CREATE INDEX transfer_legs_from_idx ON transfer_legs (from_addr, block_time DESC);
CREATE INDEX transfer_legs_to_idx ON transfer_legs (to_addr, block_time DESC);
COMMENT ON TABLE transfer_legs IS 'Each movement of an asset between two accounts, partitioned by month of block time.';
COMMENT ON COLUMN transfer_legs.block_time IS 'Time of the block: the partition key.';
COMMENT ON COLUMN transfer_legs.height IS 'Block height.';
COMMENT ON COLUMN transfer_legs.tx_idx IS 'Position of the tx in the block.';
COMMENT ON COLUMN transfer_legs.seq IS 'Position of the leg in the tx, from 0.';
COMMENT ON COLUMN transfer_legs.leg IS 'transfer, asset or cash (the two legs of a DvP), or settlement (a gateway delivery).';
COMMENT ON COLUMN transfer_legs.from_addr IS 'Paying account.';
COMMENT ON COLUMN transfer_legs.to_addr IS 'Receiving account.';
COMMENT ON COLUMN transfer_legs.asset IS 'Asset symbol.';
COMMENT ON COLUMN transfer_legs.amount IS 'Amount in smallest units.';

CREATE TABLE balance_history (
    block_time timestamptz NOT NULL,
    height     bigint NOT NULL,
    account    bytea NOT NULL,
    asset      text NOT NULL,
    delta      bigint NOT NULL,
    amount     bigint NOT NULL CHECK (amount >= 0),
    locked     bigint NOT NULL CHECK (locked >= 0 AND locked <= amount),
    PRIMARY KEY (account, asset, height, block_time)
) PARTITION BY RANGE (block_time);
-- Holders of one asset at a height.
CREATE INDEX balance_history_asset_idx ON balance_history (asset, account, height DESC);
COMMENT ON TABLE balance_history IS 'Every change of a holding, one row per account, asset and block (the block''s net change), partitioned by month of block time: holdings at any height are the last row at or below it.';
COMMENT ON COLUMN balance_history.block_time IS 'Time of the block: the partition key.';
COMMENT ON COLUMN balance_history.height IS 'Block height of the change.';
COMMENT ON COLUMN balance_history.account IS 'Account address.';
COMMENT ON COLUMN balance_history.asset IS 'Asset symbol.';
COMMENT ON COLUMN balance_history.delta IS 'Net change of the amount in that block, in smallest units.';
COMMENT ON COLUMN balance_history.amount IS 'Holding after the block.';
COMMENT ON COLUMN balance_history.locked IS 'Part of the holding locked for settlements after the block.';

-- ensure_month_partitions creates the monthly partitions of the three tables that cover
-- [t_from, t_to], and returns how many it created. ledgersync calls it before each write
-- that reaches a month it has not seen, one month ahead.
-- +goose StatementBegin
CREATE FUNCTION ensure_month_partitions(t_from timestamptz, t_to timestamptz) RETURNS integer
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

-- +goose Down
DROP FUNCTION ensure_month_partitions(timestamptz, timestamptz);
DROP TABLE balance_history;
DROP TABLE transfer_legs;
DROP TABLE transactions;
