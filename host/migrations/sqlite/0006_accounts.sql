-- Connected marketplace accounts (Allegro): the OAuth device flow, the rotated tokens (sealed),
-- and what each account's sync has read. Never edit a migration that has shipped; add the next one.

CREATE TABLE accounts (
    id                  INTEGER PRIMARY KEY,
    tenant_id           INTEGER NOT NULL REFERENCES tenants(id),
    provider            TEXT    NOT NULL,            -- allegro
    environment         TEXT    NOT NULL,            -- production | sandbox
    api_base            TEXT    NOT NULL,
    auth_base           TEXT    NOT NULL,
    poll_seconds        INTEGER NOT NULL,
    state               TEXT    NOT NULL,            -- pending | connected | error
    login               TEXT,                        -- the seller's login (GET /me)
    seller_id           TEXT,
    -- The device flow, while pending (the device code is sealed).
    device_code         BLOB,
    user_code           TEXT,
    verification_uri    TEXT,
    verification_uri_complete TEXT,
    device_expires_at   INTEGER,
    device_interval     INTEGER,
    -- The token pair (sealed). A refresh token is single-use: the new pair replaces the old in
    -- one write, under the account's lock, and token_revision counts the rotations.
    access_token        BLOB,
    refresh_token       BLOB,
    access_expires_at   INTEGER,
    token_revision      INTEGER NOT NULL DEFAULT 0,
    last_sync_at        INTEGER,
    last_error          TEXT,
    last_error_at       INTEGER,
    connected_at        INTEGER,
    created_at          INTEGER NOT NULL,
    -- The sync's marks: lastMessageDateTime of the newest thread a complete pass saw, and the
    -- createdAt of the newest customer return imported.
    threads_mark        TEXT,
    returns_mark        TEXT,
    imported_messages   INTEGER NOT NULL DEFAULT 0,
    imported_issues     INTEGER NOT NULL DEFAULT 0,
    imported_returns    INTEGER NOT NULL DEFAULT 0,
    api_calls           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX accounts_tenant ON accounts (tenant_id, id);
CREATE INDEX accounts_login ON accounts (tenant_id, provider, login);

-- Per message-center thread: its ticket and the lastMessageDateTime read to the end.
CREATE TABLE allegro_threads (
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    thread_id   TEXT    NOT NULL,
    ticket_id   INTEGER,
    mark        TEXT,
    PRIMARY KEY (account_id, thread_id)
) WITHOUT ROWID;
CREATE INDEX allegro_threads_ticket ON allegro_threads (ticket_id);

-- Per post-purchase issue: its ticket, type, and how much of its chat has been read.
CREATE TABLE allegro_issues (
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    issue_id    TEXT    NOT NULL,
    ticket_id   INTEGER,
    kind        TEXT,
    mark        TEXT,
    PRIMARY KEY (account_id, issue_id)
) WITHOUT ROWID;

-- Which ticket speaks about an order (customer returns land there).
CREATE TABLE allegro_orders (
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    order_id    TEXT    NOT NULL,
    ticket_id   INTEGER NOT NULL,
    buyer       TEXT,
    PRIMARY KEY (account_id, order_id)
) WITHOUT ROWID;

-- Things a channel reported once (an Allegro return's `return_created`), written with the
-- chain that processed them: a repeat after a crash is refused as a duplicate.
CREATE TABLE imports (
    tenant_id   INTEGER NOT NULL,
    key         TEXT    NOT NULL,
    ticket_id   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
) WITHOUT ROWID;

-- How often a delivery was claimed: a delivery claimed before may have been sent by an attempt
-- whose outcome was lost (a crash), so a channel without idempotency looks before it writes.
ALTER TABLE outbox ADD COLUMN claims INTEGER NOT NULL DEFAULT 0;
