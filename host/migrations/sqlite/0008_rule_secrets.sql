-- Values of config fields a plugin's schema marks `writeOnly` (API keys): taken out of the
-- rule's config when it is saved, sealed here per action, never returned, and handed to the
-- plugin as secrets. Never edit a migration that has shipped; add the next one.
CREATE TABLE rule_secrets (
    rule_id     INTEGER NOT NULL,
    action      INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    sealed      BLOB    NOT NULL,
    PRIMARY KEY (rule_id, action, name)
) WITHOUT ROWID;
