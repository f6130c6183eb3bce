-- The portal's users, their role bindings, their sessions, their API tokens and the counters
-- that throttle sign-in. Secrets are kept only as hashes: a password as argon2id in its PHC
-- string, a session or API token as the SHA-256 of the random token the client holds, so a
-- reader of this database cannot sign in with what it reads.

-- +goose Up
CREATE TABLE users (
    id                  bigserial PRIMARY KEY,
    username            text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
    display_name        text NOT NULL DEFAULT '',
    password_hash       text NOT NULL,
    language            text NOT NULL DEFAULT '' CHECK (language IN ('', 'en', 'zh-CN')),
    totp_secret         text NOT NULL DEFAULT '',
    totp_enabled        boolean NOT NULL DEFAULT false,
    disabled            boolean NOT NULL DEFAULT false,
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE users IS 'People who sign in to the portal. Local accounts; a disabled user cannot sign in and its sessions and tokens stop working.';
COMMENT ON COLUMN users.password_hash IS 'argon2id in PHC string form ($argon2id$v=19$m=...,t=...,p=...$salt$hash).';
COMMENT ON COLUMN users.language IS 'The user''s chosen language; empty: from the browser''s Accept-Language.';
COMMENT ON COLUMN users.totp_secret IS 'Base32 TOTP secret once enrolment started; totp_enabled once a code confirmed it.';

CREATE TABLE user_roles (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('regulator', 'sac_reviewer', 'member_compliance', 'member_user', 'auditor', 'admin')),
    domain     text NOT NULL,
    granted_by text NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, role, domain),
    CHECK ((role IN ('member_compliance', 'member_user')) = (domain <> '*'))
);
COMMENT ON TABLE user_roles IS 'Role bindings: the Casbin subject and domain of a user (policies/model.conf). domain is a member id for the member roles, * for the others.';

CREATE TABLE sessions (
    token_hash  bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    second_factor boolean NOT NULL DEFAULT false,
    client_addr text NOT NULL DEFAULT '',
    user_agent  text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
COMMENT ON TABLE sessions IS 'Server-side sessions: the cookie holds a 32-byte random token, this table its SHA-256. expires_at is the absolute limit; last_seen the idle one.';
COMMENT ON COLUMN sessions.second_factor IS 'True once the TOTP code of a user who has one was checked in this session.';

CREATE TABLE api_tokens (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    prefix      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    last_used   timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);
COMMENT ON TABLE api_tokens IS 'Bearer tokens for members'' programs, with their user''s permissions. Shown once at creation; kept as SHA-256. prefix is the token''s first characters, shown in lists to tell tokens apart.';

CREATE TABLE login_throttle (
    key          text PRIMARY KEY,
    failures     integer NOT NULL,
    window_start timestamptz NOT NULL,
    locked_until timestamptz
);
COMMENT ON TABLE login_throttle IS 'Failed sign-ins per user name (user:NAME) and per client address (addr:IP) in the current window, shared by every web replica.';

COMMENT ON COLUMN users.id IS 'Surrogate key.';
COMMENT ON COLUMN users.username IS 'Sign-in name: lower case, 2 to 64 of a-z 0-9 . _ -.';
COMMENT ON COLUMN users.display_name IS 'The persons name as the pages show it.';
COMMENT ON COLUMN users.totp_enabled IS 'True once the user confirmed a TOTP code: sign-in then asks for one.';
COMMENT ON COLUMN users.disabled IS 'A disabled user cannot sign in; its sessions were ended when it was disabled.';
COMMENT ON COLUMN users.password_changed_at IS 'When the password was last set.';
COMMENT ON COLUMN users.created_at IS 'When the user was created.';
COMMENT ON COLUMN users.updated_at IS 'When the row last changed.';
COMMENT ON COLUMN user_roles.user_id IS 'The user.';
COMMENT ON COLUMN user_roles.role IS 'The Casbin role (policies/policy.csv).';
COMMENT ON COLUMN user_roles.domain IS 'A member id for member_compliance and member_user, * otherwise.';
COMMENT ON COLUMN user_roles.granted_by IS 'Who granted it: a user name, cli or demo.';
COMMENT ON COLUMN user_roles.granted_at IS 'When it was granted.';
COMMENT ON COLUMN sessions.token_hash IS 'SHA-256 of the 32-byte random token in the cookie.';
COMMENT ON COLUMN sessions.user_id IS 'The signed-in user.';
COMMENT ON COLUMN sessions.created_at IS 'Sign-in time.';
COMMENT ON COLUMN sessions.last_seen IS 'The last request; idle past the limit ends the session.';
COMMENT ON COLUMN sessions.expires_at IS 'The absolute end, 12 hours after sign-in by default.';
COMMENT ON COLUMN sessions.client_addr IS 'Client address at sign-in.';
COMMENT ON COLUMN sessions.user_agent IS 'Browser at sign-in, truncated to 200 characters.';
COMMENT ON COLUMN api_tokens.id IS 'Surrogate key.';
COMMENT ON COLUMN api_tokens.user_id IS 'The user whose permissions the token carries.';
COMMENT ON COLUMN api_tokens.name IS 'The users name for the token.';
COMMENT ON COLUMN api_tokens.token_hash IS 'SHA-256 of the token.';
COMMENT ON COLUMN api_tokens.prefix IS 'First characters of the token, to tell tokens apart.';
COMMENT ON COLUMN api_tokens.created_at IS 'Creation time.';
COMMENT ON COLUMN api_tokens.expires_at IS 'The token stops working after this.';
COMMENT ON COLUMN api_tokens.last_used IS 'The last request made with it.';
COMMENT ON COLUMN api_tokens.revoked_at IS 'Set when revoked; a revoked token stops working.';
COMMENT ON COLUMN login_throttle.key IS 'user:NAME or addr:IP.';
COMMENT ON COLUMN login_throttle.failures IS 'Failures in the current window.';
COMMENT ON COLUMN login_throttle.window_start IS 'Start of the current window.';
COMMENT ON COLUMN login_throttle.locked_until IS 'Sign-in for the key is refused until then.';

-- +goose Down
DROP TABLE login_throttle;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE user_roles;
DROP TABLE users;
