-- Channels: mailboxes read over IMAP, idempotent intake, and the outbox as a real delivery
-- queue (SMTP, SMS gateway, webhooks). Never edit a migration that has shipped; add the next one.

-- The outbox becomes the delivery queue. A delivery is committed with the rule run that made it
-- and sent afterwards by the delivery worker.
ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'smtp';
-- pending (not tried yet) | failed (tried, tried again at next_attempt_at) | sent | dead
ALTER TABLE outbox ADD COLUMN state TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN next_attempt_at INTEGER;
ALTER TABLE outbox ADD COLUMN last_error TEXT;
ALTER TABLE outbox ADD COLUMN sent_at INTEGER;
-- The id the receiver sees: the e-mail's Message-ID, the webhook-id, the SMS id. Stable across
-- retries, so a receiver can drop a repeat.
ALTER TABLE outbox ADD COLUMN message_id TEXT;
-- The ticket message a reply delivers.
ALTER TABLE outbox ADD COLUMN message_ref INTEGER;
ALTER TABLE outbox ADD COLUMN webhook_id INTEGER;
-- A webhook call's body (JSON text), fixed when the call was queued.
ALTER TABLE outbox ADD COLUMN payload TEXT;
-- Claimed by a worker until then (a worker that died leaves it to be claimed again).
ALTER TABLE outbox ADD COLUMN lease_until INTEGER;
-- What the receiving server answered last (SMTP reply, HTTP status).
ALTER TABLE outbox ADD COLUMN response TEXT;
-- Items queued before deliveries existed were never sent; they are not sent now unasked.
UPDATE outbox SET state = 'dead', channel = CASE kind WHEN 'sms' THEN 'sms' ELSE 'smtp' END,
    last_error = 'queued before ferrule delivered messages; POST /deliveries/{id}/retry sends it';
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state IN ('pending', 'failed');
CREATE INDEX outbox_tenant_state ON outbox (tenant_id, state, id);
CREATE INDEX outbox_ticket ON outbox (tenant_id, ticket_id, id);
CREATE INDEX outbox_tenant ON outbox (tenant_id, id);
CREATE INDEX outbox_message_id ON outbox (tenant_id, message_id) WHERE message_id IS NOT NULL;
CREATE INDEX outbox_webhook ON outbox (webhook_id, id) WHERE webhook_id IS NOT NULL;

-- Idempotent intake: the channel's id of a ticket or message (Message-ID, Allegro thread id),
-- unique per tenant and source.
ALTER TABLE tickets ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX tickets_external ON tickets (tenant_id, source, external_id) WHERE external_id IS NOT NULL;
ALTER TABLE messages ADD COLUMN external_id TEXT;
-- The ticket's source when the message was added (the uniqueness of external_id is per source).
ALTER TABLE messages ADD COLUMN source TEXT;
CREATE UNIQUE INDEX messages_external ON messages (tenant_id, source, external_id) WHERE external_id IS NOT NULL;
-- An e-mail's full text (`body` is it without quoted history and signature), and its CC.
ALTER TABLE messages ADD COLUMN full_body TEXT;
ALTER TABLE messages ADD COLUMN cc TEXT;
-- An automatic mail (auto-reply, bounce, list): never answered automatically (mail loops).
ALTER TABLE messages ADD COLUMN auto_generated INTEGER NOT NULL DEFAULT 0;

CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
    message_id   INTEGER NOT NULL REFERENCES messages(id),
    name         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    -- NULL when the attachment was larger than the limit (its name, type and size are kept).
    bytes        BLOB
);
CREATE INDEX attachments_message ON attachments (message_id);

-- An inbox's e-mail settings as the API shows them (without passwords), and the sealed
-- passwords (write-only).
ALTER TABLE inboxes ADD COLUMN email TEXT;
ALTER TABLE inboxes ADD COLUMN imap_password TEXT;
ALTER TABLE inboxes ADD COLUMN smtp_password TEXT;
-- Bumped by every change of the e-mail settings (the mailbox worker reconnects).
ALTER TABLE inboxes ADD COLUMN email_revision INTEGER NOT NULL DEFAULT 0;

-- What the mailbox worker has read. Mails are also deduplicated by Message-ID, so a restart
-- that reads a mail again imports nothing twice.
CREATE TABLE mailboxes (
    inbox_id     INTEGER PRIMARY KEY REFERENCES inboxes(id),
    uid_validity INTEGER,
    last_uid     INTEGER NOT NULL DEFAULT 0,
    state        TEXT    NOT NULL DEFAULT 'connecting',
    last_poll_at INTEGER,
    last_error   TEXT,
    imported     INTEGER NOT NULL DEFAULT 0,
    refused      INTEGER NOT NULL DEFAULT 0
);

-- Mails the worker could not import, with the reason.
CREATE TABLE mail_refusals (
    id         INTEGER PRIMARY KEY,
    inbox_id   INTEGER NOT NULL,
    uid        INTEGER NOT NULL,
    message_id TEXT,
    reason     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

-- Tenant-wide channel settings: the default SMTP (`{host, port, tls, username, from}`) and the
-- SMS gateway (`{endpoint}`); the password and token are sealed apart.
CREATE TABLE settings (
    tenant_id     INTEGER PRIMARY KEY REFERENCES tenants(id),
    smtp          TEXT,
    smtp_password TEXT,
    sms           TEXT,
    sms_token     TEXT,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    url        TEXT    NOT NULL,
    -- JSON array of event types.
    events     TEXT    NOT NULL,
    -- The signing secret, sealed.
    secret     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhooks_tenant ON webhooks (tenant_id) WHERE deleted = 0;
