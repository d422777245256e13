-- Agents can be removed (DELETE /agents/{id}). The row stays, so the tickets and runs that name
-- the agent keep their history; a removed agent is no longer in the tenant's directory, and a
-- rule that names it is paused. Never edit a migration that has shipped; add the next one.
ALTER TABLE agents ADD COLUMN removed_at INTEGER;
