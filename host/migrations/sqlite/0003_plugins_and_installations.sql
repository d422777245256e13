-- Vendor plugins, their signing keys, and each tenant's installations.
-- Never edit a migration that has shipped; add the next one.

-- Vendors upload plugins with their own API key (stored hashed, shown once).
CREATE TABLE vendors (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    key_hash   TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- Ed25519 public keys a vendor signs uploads with (32 bytes, base64 in the API).
CREATE TABLE vendor_keys (
    id         INTEGER PRIMARY KEY,
    vendor_id  INTEGER NOT NULL REFERENCES vendors(id),
    public_key BLOB    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- Component bytes, content-addressed: one row per distinct SHA-256.
CREATE TABLE plugin_blobs (
    sha256 TEXT PRIMARY KEY,
    bytes  BLOB NOT NULL
);

-- Uploaded plugins, one row per name@version (built-in plugins live in the binary, not here).
-- A name belongs to the vendor that first uploaded it (NULL: the operator).
CREATE TABLE plugins (
    name          TEXT    NOT NULL,
    version       TEXT    NOT NULL,
    sha256        TEXT    NOT NULL REFERENCES plugin_blobs(sha256),
    kind          TEXT    NOT NULL CHECK (kind IN ('condition', 'action')),
    -- describe()'s answer as JSON.
    description   TEXT    NOT NULL,
    vendor_id     INTEGER REFERENCES vendors(id),
    -- The vendor key whose signature over the bytes was verified, if one was sent.
    signed_by_key INTEGER REFERENCES vendor_keys(id),
    uploaded_at   INTEGER NOT NULL,
    PRIMARY KEY (name, version)
);

-- A tenant's choice about one plugin. Built-in plugins without a row are enabled at their
-- current version; vendor plugins run only for tenants with an enabled row.
CREATE TABLE installations (
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    plugin     TEXT    NOT NULL,
    enabled    INTEGER NOT NULL,
    -- Pinned version; NULL follows the newest.
    version    TEXT,
    -- Defaults merged under each rule's config (the rule's keys win).
    config     TEXT    NOT NULL DEFAULT '{}',
    -- Capability grants, `{"http": [...]}`.
    grants     TEXT    NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, plugin)
);

-- Secrets of an installation, sealed (ChaCha20-Poly1305, 12-byte nonce first) with the
-- server's secret key, which is never stored in this database.
CREATE TABLE installation_secrets (
    tenant_id INTEGER NOT NULL,
    plugin    TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    sealed    BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, plugin, name),
    FOREIGN KEY (tenant_id, plugin) REFERENCES installations(tenant_id, plugin) ON DELETE CASCADE
);
