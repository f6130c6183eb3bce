-- Current holdings, settlements, reserves and supply, and the dashboards' daily rollups.

-- +goose Up
CREATE TABLE balances (
    account    bytea NOT NULL,
    asset      text NOT NULL,
    amount     bigint NOT NULL CHECK (amount >= 0),
    locked     bigint NOT NULL CHECK (locked >= 0 AND locked <= amount),
    height     bigint NOT NULL,
    PRIMARY KEY (account, asset)
);
-- Top holders of an asset.
CREATE INDEX balances_asset_amount_idx ON balances (asset, amount DESC, account);
COMMENT ON TABLE balances IS 'Current holdings: the last balance_history row of each account and asset.';
COMMENT ON COLUMN balances.account IS 'Account address.';
COMMENT ON COLUMN balances.asset IS 'Asset symbol.';
COMMENT ON COLUMN balances.amount IS 'Holding in smallest units.';
COMMENT ON COLUMN balances.locked IS 'Part locked for pending settlements.';
COMMENT ON COLUMN balances.height IS 'Height of the last change.';

CREATE TABLE settlements (
    id            bytea PRIMARY KEY CHECK (length(id) = 32),
    kind          text NOT NULL,
    state         text NOT NULL,
    venue         text NOT NULL DEFAULT '',
    gateway       text NOT NULL DEFAULT '',
    seller        bytea NOT NULL,
    buyer         bytea NOT NULL,
    asset         text NOT NULL,
    quantity      bigint NOT NULL,
    cash          bigint NOT NULL,
    deadline      timestamptz,
    ref           text NOT NULL DEFAULT '',
    close_ref     text NOT NULL DEFAULT '',
    reason        text NOT NULL DEFAULT '',
    opened_height bigint NOT NULL,
    opened_time   timestamptz NOT NULL,
    closed_height bigint,
    closed_time   timestamptz
);
CREATE INDEX settlements_open_idx ON settlements (deadline) WHERE state = 'locked';
CREATE INDEX settlements_opened_idx ON settlements (opened_time DESC, id);
COMMENT ON TABLE settlements IS 'DvP settlements (final at once) and gateway settlements (locked, then confirmed or failed).';
COMMENT ON COLUMN settlements.id IS 'Hash of the tx that opened it.';
COMMENT ON COLUMN settlements.kind IS 'dvp or gateway.';
COMMENT ON COLUMN settlements.state IS 'locked, confirmed or failed.';
COMMENT ON COLUMN settlements.venue IS 'Exchange of a DvP.';
COMMENT ON COLUMN settlements.gateway IS 'Payment gateway of a gateway settlement.';
COMMENT ON COLUMN settlements.seller IS 'Seller account.';
COMMENT ON COLUMN settlements.buyer IS 'Buyer account.';
COMMENT ON COLUMN settlements.asset IS 'Asset delivered.';
COMMENT ON COLUMN settlements.quantity IS 'Quantity delivered, smallest units.';
COMMENT ON COLUMN settlements.cash IS 'Coin paid (DvP) or fiat fen owed off-chain (gateway).';
COMMENT ON COLUMN settlements.deadline IS 'Gateway settlements: when the lock expires; NULL for DvP.';
COMMENT ON COLUMN settlements.ref IS 'Trade or payment reference given when opened.';
COMMENT ON COLUMN settlements.close_ref IS 'Payment reference given when confirmed.';
COMMENT ON COLUMN settlements.reason IS 'Why it failed.';
COMMENT ON COLUMN settlements.opened_height IS 'Height it was opened at.';
COMMENT ON COLUMN settlements.opened_time IS 'Block time it was opened at.';
COMMENT ON COLUMN settlements.closed_height IS 'Height it was confirmed or failed at; NULL while locked.';
COMMENT ON COLUMN settlements.closed_time IS 'Block time it was closed at.';

CREATE TABLE reserve_attestations (
    height      bigint NOT NULL,
    tx_idx      integer NOT NULL,
    block_time  timestamptz NOT NULL,
    amount      bigint NOT NULL,
    as_of       timestamptz NOT NULL,
    report      bytea NOT NULL,
    coin_supply bigint NOT NULL,
    PRIMARY KEY (height, tx_idx)
);
COMMENT ON TABLE reserve_attestations IS 'The settlement bank''s attestations of the fiat reserve behind the coin.';
COMMENT ON COLUMN reserve_attestations.height IS 'Block height.';
COMMENT ON COLUMN reserve_attestations.tx_idx IS 'Position of the tx in the block.';
COMMENT ON COLUMN reserve_attestations.block_time IS 'Block time.';
COMMENT ON COLUMN reserve_attestations.amount IS 'Attested reserve in fen.';
COMMENT ON COLUMN reserve_attestations.as_of IS 'Date of the attested balance.';
COMMENT ON COLUMN reserve_attestations.report IS 'Digest of the auditor''s report.';
COMMENT ON COLUMN reserve_attestations.coin_supply IS 'Coin supply at the attestation, in fen.';

CREATE TABLE supply_history (
    asset      text NOT NULL,
    height     bigint NOT NULL,
    block_time timestamptz NOT NULL,
    supply     bigint NOT NULL CHECK (supply >= 0),
    PRIMARY KEY (asset, height)
);
COMMENT ON TABLE supply_history IS 'Supply of each asset after each block that minted or burned it: coin supply against reserves over time.';
COMMENT ON COLUMN supply_history.asset IS 'Asset symbol.';
COMMENT ON COLUMN supply_history.height IS 'Block height.';
COMMENT ON COLUMN supply_history.block_time IS 'Block time.';
COMMENT ON COLUMN supply_history.supply IS 'Supply after the block, smallest units.';

CREATE TABLE daily_rollups (
    day          date NOT NULL,
    member       text NOT NULL,
    asset        text NOT NULL,
    tx_type      text NOT NULL,
    tx_count     bigint NOT NULL,
    failed_count bigint NOT NULL,
    value        numeric(40, 0) NOT NULL,
    PRIMARY KEY (day, member, asset, tx_type)
);
-- A member's daily volumes over a date range, answered from the index alone.
CREATE INDEX daily_rollups_member_day_idx ON daily_rollups (member, day) INCLUDE (asset, tx_type, tx_count, failed_count, value);
COMMENT ON TABLE daily_rollups IS 'Per day (Beijing time), member, asset and tx type: counts and value, for the dashboards.';
COMMENT ON COLUMN daily_rollups.day IS 'Calendar day in China Standard Time (UTC+8), the market''s day.';
COMMENT ON COLUMN daily_rollups.member IS 'Member sponsoring the signer.';
COMMENT ON COLUMN daily_rollups.asset IS 'Asset the txs were about; empty if none.';
COMMENT ON COLUMN daily_rollups.tx_type IS 'Tx type.';
COMMENT ON COLUMN daily_rollups.tx_count IS 'Transactions, failed ones included.';
COMMENT ON COLUMN daily_rollups.failed_count IS 'Of which failed.';
COMMENT ON COLUMN daily_rollups.value IS 'Sum of the successful txs'' amounts in the asset''s smallest units.';

-- +goose Down
DROP TABLE daily_rollups;
DROP TABLE supply_history;
DROP TABLE reserve_attestations;
DROP TABLE settlements;
DROP TABLE balances;
