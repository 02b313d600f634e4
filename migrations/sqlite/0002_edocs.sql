-- Document exchange: packages (stored as signed, in chunks), deliveries per recipient organ.
CREATE TABLE edocs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT    NOT NULL,            -- document | status
    sender      TEXT    NOT NULL,            -- member id that handed it over
    from_organ  TEXT    NOT NULL,            -- MessageHeader/From/OrganId
    document_id TEXT    NOT NULL,            -- DocumentId, or ResponseFor/DocumentId of a status
    status_code TEXT,                        -- StatusCode of a status package
    dedup_key   TEXT    NOT NULL UNIQUE,
    sha256      TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    signer      TEXT,                        -- signer certificate subject; NULL when unsigned
    received_at INTEGER NOT NULL,            -- unix milliseconds
    header      TEXT    NOT NULL,            -- canonical header (JSON)
    receipt     BLOB    NOT NULL             -- the gateway's signed receipt (XML)
);
CREATE INDEX edocs_document ON edocs (from_organ, document_id);
CREATE TABLE edoc_chunks (
    edoc_id INTEGER NOT NULL REFERENCES edocs (id),
    seq     INTEGER NOT NULL,
    bytes   BLOB    NOT NULL,
    PRIMARY KEY (edoc_id, seq)
);
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    edoc_id         INTEGER NOT NULL REFERENCES edocs (id),
    recipient_organ TEXT    NOT NULL,
    member          TEXT,                    -- recipient member (agency or peer); NULL if unroutable
    mode            TEXT    NOT NULL,        -- pull | push | none
    state           TEXT    NOT NULL,        -- queued | delivered | acked | failed | dead | unroutable
    order_key       TEXT,                    -- sender organ + member, when the member wants order
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    last_error      TEXT,
    status_code     TEXT,                    -- last QCVN status the recipient reported
    status_at       INTEGER,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    acked_at        INTEGER,
    ack_reason      TEXT,
    UNIQUE (edoc_id, recipient_organ)
);
CREATE INDEX deliveries_due ON deliveries (state, mode, next_attempt_at);
CREATE INDEX deliveries_inbox ON deliveries (member, mode, id);
CREATE INDEX deliveries_order ON deliveries (order_key, id);
