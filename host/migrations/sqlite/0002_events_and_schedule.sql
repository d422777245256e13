-- Events as durable work, ticket revisions, and the scheduler's state.
-- Never edit a migration that has shipped; add the next one.

-- Bumped by every write to a ticket (optimistic concurrency; re-arms time rules).
ALTER TABLE tickets ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
-- When the scheduler should next evaluate the ticket's time rules (ms since the epoch);
-- NULL when only a change to the ticket can make one of them fire.
ALTER TABLE tickets ADD COLUMN due_at INTEGER;
CREATE INDEX tickets_due ON tickets (due_at) WHERE due_at IS NOT NULL;

-- Every event on a ticket. Written in the transaction of the change that raised it, marked
-- processed in the transaction that applies the effects of its rules: an event whose
-- processing was cut off (crash, shutdown) is still pending and is processed at start.
CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
    ticket_id    INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    -- The event as JSON (`{"kind": "tag_added", "tag": "vip"}`).
    payload      TEXT    NOT NULL,
    -- Steps from the outside change that started the chain (0 = raised by an API call).
    depth        INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    processed_at INTEGER
);
CREATE INDEX events_ticket ON events (tenant_id, ticket_id, id);
CREATE INDEX events_pending ON events (id) WHERE processed_at IS NULL;

-- A time rule fired for a ticket at this ticket revision; it is armed again once the
-- ticket's revision moves past it.
CREATE TABLE time_fires (
    rule_id         INTEGER NOT NULL,
    ticket_id       INTEGER NOT NULL,
    ticket_revision INTEGER NOT NULL,
    fired_at        INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, rule_id)
);

-- Queue defaults (Thulium queues): a new ticket in the inbox without a category or priority
-- gets these.
ALTER TABLE inboxes ADD COLUMN default_category TEXT;
ALTER TABLE inboxes ADD COLUMN default_priority TEXT;
