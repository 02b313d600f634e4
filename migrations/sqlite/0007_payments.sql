-- Notices to one-stop-shop installations (news about their dossiers from PayGov, VNPost or the
-- gateway itself), and online fee payments (PayGov): each payment, its history, the callbacks
-- already answered (idempotency by MaThamChieu + MaGiaoDich) and receipts.
CREATE TABLE notices (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    member       TEXT   NOT NULL,
    dossier_code TEXT   NOT NULL,
    kind         TEXT   NOT NULL,           -- payment.paid, postal.event, dossier.status, ...
    detail       TEXT   NOT NULL,           -- JSON
    created_at   BIGINT NOT NULL
);
CREATE INDEX notices_member ON notices (member, id);
CREATE TABLE payments (
    reference     TEXT   PRIMARY KEY,       -- MaThamChieu
    dossier_code  TEXT   NOT NULL REFERENCES dossiers (code),
    member        TEXT   NOT NULL,          -- the installation that asked for it
    amount        BIGINT NOT NULL,          -- SoTien, integer VND
    currency      TEXT   NOT NULL,          -- MaTienTe
    description   TEXT   NOT NULL,          -- ThongTinGiaoDich
    fees          TEXT   NOT NULL,          -- JSON list of the fees paid
    init_time     TEXT   NOT NULL,          -- ThoiGianGD of the init (status checks need it)
    state         TEXT   NOT NULL,          -- initiated | pending | paid | failed | review
    payment_url   TEXT,                     -- UrlThanhToan
    txn_code      TEXT,                     -- MaGiaoDich of the result applied
    checks        BIGINT NOT NULL,          -- status checks made by reconciliation
    next_check_at BIGINT NOT NULL,          -- unix ms: when reconciliation looks next
    lease_until   BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX payments_open ON payments (state, next_check_at);
CREATE INDEX payments_dossier ON payments (dossier_code);
CREATE TABLE payment_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    reference  TEXT   NOT NULL REFERENCES payments (reference),
    at         BIGINT NOT NULL,
    source     TEXT   NOT NULL,             -- init | callback | check | operator
    state      TEXT   NOT NULL,             -- the state after it
    txn_code   TEXT,
    detail     TEXT   NOT NULL              -- JSON (MaLoi, TrangThaiGD, error, ...)
);
CREATE INDEX payment_events_ref ON payment_events (reference, id);
CREATE TABLE payment_callbacks (
    reference   TEXT   NOT NULL,
    txn_code    TEXT   NOT NULL,            -- MaGiaoDich
    sha256      TEXT   NOT NULL,            -- of the callback's fields as received
    answer      TEXT   NOT NULL,            -- the answer given (JSON), given again to a duplicate
    received_at BIGINT NOT NULL,
    PRIMARY KEY (reference, txn_code)
);
CREATE TABLE payment_receipts (
    reference  TEXT   PRIMARY KEY REFERENCES payments (reference),
    pdf        BLOB   NOT NULL,
    fetched_at BIGINT NOT NULL
);
