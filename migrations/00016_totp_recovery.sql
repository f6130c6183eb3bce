-- The second factor: the last TOTP time step a user's code was accepted for, so that a code
-- seen over a shoulder cannot be used again within its 30 seconds, and one-time recovery codes
-- for a lost authenticator, kept as SHA-256.

-- +goose Up
ALTER TABLE users ADD COLUMN totp_last_step bigint NOT NULL DEFAULT 0;
COMMENT ON COLUMN users.totp_last_step IS 'The 30-second TOTP step of the last code accepted: a code of that step or an earlier one is refused.';

CREATE TABLE recovery_codes (
    user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash bytea NOT NULL CHECK (length(code_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);
COMMENT ON TABLE recovery_codes IS 'One-time codes that stand in for a TOTP code when the authenticator is lost; shown once at enrolment.';
COMMENT ON COLUMN recovery_codes.user_id IS 'The user.';
COMMENT ON COLUMN recovery_codes.code_hash IS 'SHA-256 of the code.';
COMMENT ON COLUMN recovery_codes.created_at IS 'When it was issued.';
COMMENT ON COLUMN recovery_codes.used_at IS 'When it was used; a used code is refused.';

-- +goose Down
DROP TABLE recovery_codes;
ALTER TABLE users DROP COLUMN totp_last_step;
