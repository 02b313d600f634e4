-- Postal orders through VNPost (public-utility post): each order (result delivery to the citizen,
-- or dossier pickup from the citizen), the outbound call it waits for (create or cancel, queued
-- and retried), the carrier's tracking events (each applied once: unique by its $oid) and the
-- tracking cursor (last $oid seen per customer code, moved in the transaction that applies the
-- events before it).
CREATE TABLE postal_orders (
    order_number    TEXT   PRIMARY KEY,     -- OrderNumber: the dossier code (pickup: with a suffix)
    dossier_code    TEXT   NOT NULL REFERENCES dossiers (code),
    member          TEXT   NOT NULL,        -- the installation that asked for it
    direction       TEXT   NOT NULL,        -- result_delivery | dossier_pickup
    request_sha256  TEXT   NOT NULL,        -- of the canonical request (a repeat is the same order)
    body            TEXT   NOT NULL,        -- the NGSP order as sent (JSON)
    state           TEXT   NOT NULL,        -- queued | sent | cancelling | cancelled | delivered | failed
    job             TEXT   NOT NULL,        -- the call it waits for: create | cancel | none
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    last_error      TEXT,
    carrier_status  TEXT,                   -- StatusCode of the latest tracking event
    item_code       TEXT,                   -- ItemCode (VNPost barcode)
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX postal_orders_due ON postal_orders (job, next_attempt_at);
CREATE INDEX postal_orders_dossier ON postal_orders (dossier_code);
CREATE TABLE postal_events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id       TEXT   NOT NULL UNIQUE,  -- _id.$oid
    order_number   TEXT   NOT NULL REFERENCES postal_orders (order_number),
    status_code    TEXT   NOT NULL,
    status_message TEXT   NOT NULL,
    item_code      TEXT   NOT NULL,
    event_time     TEXT   NOT NULL,         -- EventTime as sent
    pos_id         TEXT   NOT NULL,
    notes          TEXT   NOT NULL,
    received_at    BIGINT NOT NULL
);
CREATE INDEX postal_events_order ON postal_events (order_number, id);
CREATE TABLE postal_cursor (
    customer_code TEXT   PRIMARY KEY,
    last_id       TEXT   NOT NULL,
    updated_at    BIGINT NOT NULL
);
