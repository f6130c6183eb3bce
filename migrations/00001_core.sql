-- The consortium's parties and instruments, the blocks, and the sync cursor.

-- +goose Up
CREATE TABLE members (
    id       text PRIMARY KEY,
    name     text NOT NULL,
    roles    text[] NOT NULL,
    operator bytea NOT NULL CHECK (length(operator) = 20),
    height   bigint NOT NULL
);
COMMENT ON TABLE members IS 'Institutions of the consortium, from genesis or admitted later.';
COMMENT ON COLUMN members.id IS 'Member id, e.g. SZFE.';
COMMENT ON COLUMN members.name IS 'Legal name.';
COMMENT ON COLUMN members.roles IS 'Roles: exchange, broker, issuer, settlement_bank, gateway, custodian.';
COMMENT ON COLUMN members.operator IS 'Address (20 bytes) of the account that signs for the member.';
COMMENT ON COLUMN members.height IS 'Height the member was admitted at; 0 for genesis.';

CREATE TABLE accounts (
    address        bytea PRIMARY KEY CHECK (length(address) = 20),
    pubkey         bytea NOT NULL CHECK (length(pubkey) = 32),
    sponsor        text NOT NULL,
    kind           text NOT NULL,
    owner_ref      bytea NOT NULL CHECK (length(owner_ref) = 32),
    status         text NOT NULL,
    venues         text[] NOT NULL DEFAULT '{}',
    height         bigint NOT NULL,
    updated_height bigint NOT NULL
);
CREATE INDEX accounts_owner_ref_idx ON accounts (owner_ref);
CREATE INDEX accounts_sponsor_idx ON accounts (sponsor, address);
COMMENT ON TABLE accounts IS 'Ledger accounts: Ed25519 keys admitted by a sponsoring member.';
COMMENT ON COLUMN accounts.address IS 'First 20 bytes of SHA-256 of the public key.';
COMMENT ON COLUMN accounts.pubkey IS 'Ed25519 public key.';
COMMENT ON COLUMN accounts.sponsor IS 'Member id that did the KYC; empty for the regulator.';
COMMENT ON COLUMN accounts.kind IS 'individual or institution.';
COMMENT ON COLUMN accounts.owner_ref IS 'Salted hash of the beneficial owner: links one owner''s accounts without naming them.';
COMMENT ON COLUMN accounts.status IS 'active or frozen.';
COMMENT ON COLUMN accounts.venues IS 'Exchanges authorised to settle DvP on the account''s behalf.';
COMMENT ON COLUMN accounts.height IS 'Height the account was registered at; 0 for genesis.';
COMMENT ON COLUMN accounts.updated_height IS 'Height of the last change (registration, freeze, unfreeze).';

CREATE TABLE assets (
    symbol         text PRIMARY KEY,
    name           text NOT NULL,
    class          text NOT NULL,
    security_kind  text NOT NULL DEFAULT '',
    decimals       smallint NOT NULL,
    issuer         text NOT NULL,
    venue          text NOT NULL DEFAULT '',
    commodity      text NOT NULL DEFAULT '',
    grade          text NOT NULL DEFAULT '',
    warehouse      text NOT NULL DEFAULT '',
    unit           text NOT NULL DEFAULT '',
    position_limit bigint NOT NULL DEFAULT 0,
    status         text NOT NULL,
    supply         bigint NOT NULL DEFAULT 0 CHECK (supply >= 0),
    height         bigint NOT NULL,
    updated_height bigint NOT NULL
);
COMMENT ON TABLE assets IS 'Instruments on the ledger: the settlement coin, securities, commodity receipts, rights, loyalty credits.';
COMMENT ON COLUMN assets.symbol IS 'Asset symbol, e.g. CNYS or 600001.';
COMMENT ON COLUMN assets.name IS 'Display name.';
COMMENT ON COLUMN assets.class IS 'coin, security, commodity, right or loyalty.';
COMMENT ON COLUMN assets.security_kind IS 'stock, bond, fund, future or option for securities; empty otherwise.';
COMMENT ON COLUMN assets.decimals IS 'Decimal places of the smallest unit; amounts are integers in that unit.';
COMMENT ON COLUMN assets.issuer IS 'Issuing member id.';
COMMENT ON COLUMN assets.venue IS 'Listing venue (an exchange member id), or empty.';
COMMENT ON COLUMN assets.commodity IS 'Commodity of a warehouse receipt.';
COMMENT ON COLUMN assets.grade IS 'Grade of a warehouse receipt.';
COMMENT ON COLUMN assets.warehouse IS 'Custodian member holding the goods of a receipt.';
COMMENT ON COLUMN assets.unit IS 'Physical unit of a receipt, e.g. tonne.';
COMMENT ON COLUMN assets.position_limit IS 'Per-owner open position limit for futures and options; 0 for none.';
COMMENT ON COLUMN assets.status IS 'active or frozen.';
COMMENT ON COLUMN assets.supply IS 'Supply in smallest units after the last mint or burn.';
COMMENT ON COLUMN assets.height IS 'Height the asset was issued at; 0 for genesis.';
COMMENT ON COLUMN assets.updated_height IS 'Height of the last change of status or supply.';

CREATE TABLE blocks (
    height       bigint PRIMARY KEY,
    hash         bytea NOT NULL,
    time         timestamptz NOT NULL,
    proposer     bytea NOT NULL,
    app_hash     bytea NOT NULL,
    tx_count     integer NOT NULL,
    failed_count integer NOT NULL
);
CREATE INDEX blocks_time_idx ON blocks (time);
COMMENT ON TABLE blocks IS 'Committed blocks, one row per height, written with their rows and the cursor in one transaction.';
COMMENT ON COLUMN blocks.height IS 'Block height.';
COMMENT ON COLUMN blocks.hash IS 'Block hash as the node reports it; a different hash from the node at a stored height halts the sync.';
COMMENT ON COLUMN blocks.time IS 'Header time agreed by the validators: the ledger''s clock.';
COMMENT ON COLUMN blocks.proposer IS 'Consensus address of the proposing validator.';
COMMENT ON COLUMN blocks.app_hash IS 'App hash after executing the block (from FinalizeBlock).';
COMMENT ON COLUMN blocks.tx_count IS 'Transactions in the block, failed ones included.';
COMMENT ON COLUMN blocks.failed_count IS 'Transactions that failed execution.';

CREATE TABLE sync_cursor (
    id          smallint PRIMARY KEY CHECK (id = 1),
    chain_id    text NOT NULL,
    height      bigint NOT NULL,
    hash        bytea NOT NULL,
    block_time  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    halted_at   timestamptz,
    halt_reason text NOT NULL DEFAULT ''
);
COMMENT ON TABLE sync_cursor IS 'The one row saying how far ledgersync has written; it moves in the same transaction as the rows.';
COMMENT ON COLUMN sync_cursor.id IS 'Always 1.';
COMMENT ON COLUMN sync_cursor.chain_id IS 'Chain the database follows; another chain is refused.';
COMMENT ON COLUMN sync_cursor.height IS 'Last height whose rows are all written; 0 after genesis.';
COMMENT ON COLUMN sync_cursor.hash IS 'Hash of that block (empty at genesis).';
COMMENT ON COLUMN sync_cursor.block_time IS 'Time of that block (genesis time at 0).';
COMMENT ON COLUMN sync_cursor.updated_at IS 'Wall-clock time of the last write.';
COMMENT ON COLUMN sync_cursor.halted_at IS 'When the sync halted on a divergent block; NULL while healthy.';
COMMENT ON COLUMN sync_cursor.halt_reason IS 'Why it halted: the alarm an operator must clear by hand.';

-- +goose Down
DROP TABLE sync_cursor;
DROP TABLE blocks;
DROP TABLE assets;
DROP TABLE accounts;
DROP TABLE members;
