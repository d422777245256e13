-- ferrule's first schema. Times are milliseconds since the Unix epoch (UTC); JSON columns hold
-- the API's JSON shapes. Migrations are never edited once released: add a new file instead.

CREATE TABLE tenants (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    timezone    TEXT    NOT NULL,
    next_number INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL
);

-- API keys are stored as SHA-256 hashes; the key itself is shown once, at creation.
CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    key_hash   TEXT    NOT NULL UNIQUE,
    prefix     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE statuses (
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    name      TEXT    NOT NULL,
    category  TEXT    NOT NULL CHECK (category IN ('new', 'open', 'pending', 'solved', 'closed')),
    position  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE agents (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
    name          TEXT    NOT NULL,
    email         TEXT,
    phone         TEXT,
    working_hours TEXT,
    created_at    INTEGER NOT NULL
);
CREATE INDEX agents_tenant ON agents (tenant_id);

CREATE TABLE inboxes (
    id               INTEGER PRIMARY KEY,
    tenant_id        INTEGER NOT NULL REFERENCES tenants(id),
    name             TEXT    NOT NULL,
    grp              TEXT,
    working_hours    TEXT,
    created_at       INTEGER NOT NULL
);
CREATE INDEX inboxes_tenant ON inboxes (tenant_id);

CREATE TABLE customers (
    id        INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    name      TEXT    NOT NULL,
    email     TEXT,
    phone     TEXT
);
CREATE INDEX customers_tenant_email ON customers (tenant_id, email);

CREATE TABLE tickets (
    id                       INTEGER PRIMARY KEY,
    tenant_id                INTEGER NOT NULL REFERENCES tenants(id),
    number                   INTEGER NOT NULL,
    subject                  TEXT    NOT NULL,
    status                   TEXT    NOT NULL,
    status_changed_at        INTEGER NOT NULL,
    category                 TEXT,
    priority                 TEXT,
    ticket_type              TEXT,
    source                   TEXT    NOT NULL,
    inbox_id                 INTEGER REFERENCES inboxes(id),
    account                  TEXT,
    customer_id              INTEGER NOT NULL REFERENCES customers(id),
    assignee_id              INTEGER REFERENCES agents(id),
    assigned_at              INTEGER,
    tags                     TEXT    NOT NULL DEFAULT '[]',
    language                 TEXT,
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL,
    closed_at                INTEGER,
    last_customer_message_at INTEGER,
    last_agent_message_at    INTEGER,
    answered                 INTEGER NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, number)
);

CREATE TABLE messages (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id),
    author     TEXT    NOT NULL CHECK (author IN ('customer', 'agent')),
    direction  TEXT    NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    subject    TEXT,
    body       TEXT    NOT NULL,
    language   TEXT,
    rule_id    INTEGER,
    sent_at    INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX messages_ticket ON messages (ticket_id, sent_at);

CREATE TABLE rules (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    revision    INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    enabled     INTEGER NOT NULL,
    trigger     TEXT    NOT NULL,
    conditions  TEXT    NOT NULL,
    actions     TEXT    NOT NULL,
    position    INTEGER NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX rules_tenant ON rules (tenant_id, position);

-- Every saved version of a rule, readable through the API.
CREATE TABLE rule_revisions (
    rule_id    INTEGER NOT NULL REFERENCES rules(id),
    revision   INTEGER NOT NULL,
    definition TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (rule_id, revision)
);

CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
    rule_id       INTEGER NOT NULL,
    rule_revision INTEGER NOT NULL,
    ticket_id     INTEGER NOT NULL,
    event         TEXT    NOT NULL,
    outcome       TEXT    NOT NULL,
    record        TEXT    NOT NULL,
    dry_run       INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);
CREATE INDEX runs_ticket ON runs (tenant_id, ticket_id, id);
CREATE INDEX runs_rule ON runs (tenant_id, rule_id, id);

-- Outgoing messages other than replies in the ticket (e-mail, SMS, notifications), waiting for
-- a delivery channel.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    ticket_id  INTEGER NOT NULL,
    rule_id    INTEGER,
    kind       TEXT    NOT NULL,
    recipient  TEXT    NOT NULL,
    subject    TEXT,
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
