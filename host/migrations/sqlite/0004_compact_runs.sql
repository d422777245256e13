-- Runs of rules whose conditions did not match (most runs) are stored compactly: each leaf's
-- answer, the event, fuel and time. The rest of the record (the rule's name, each leaf's path
-- and plugin) is the rule's revision, kept in rule_revisions, and is filled in when read.
ALTER TABLE runs ADD COLUMN compact INTEGER NOT NULL DEFAULT 0;
