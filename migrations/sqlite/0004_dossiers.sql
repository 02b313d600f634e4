-- Dossiers (hồ sơ một cửa): the canonical dossier as filed, its current status, and every status
-- change. Portable SQL: the same text serves SQLite and PostgreSQL.
CREATE TABLE dossiers (
    code            TEXT   PRIMARY KEY,     -- MaHoSo
    procedure_code  TEXT   NOT NULL,        -- MaTTHC
    receiving_organ TEXT   NOT NULL,
    channel         TEXT   NOT NULL,        -- in_person | online | post
    status          BIGINT NOT NULL,        -- current TrangThaiHoSo, 1..10
    received_at     BIGINT NOT NULL,        -- NgayTiepNhan, unix milliseconds
    due_at          BIGINT NOT NULL,        -- NgayHenTra, unix milliseconds
    due_by          TEXT   NOT NULL,        -- calendar | request
    provisional     BIGINT NOT NULL,        -- 1: computed across a year without an approved file
    ended_at        BIGINT,                 -- time of the first status that ends processing (3, 7, 8, 9, 10)
    last_seq        BIGINT NOT NULL,        -- seq of the latest dossier_events row
    created_by      TEXT   NOT NULL,        -- member that filed it
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    sha256          TEXT   NOT NULL,        -- of the canonical dossier as filed (same filing again: 200)
    body            TEXT   NOT NULL         -- the canonical dossier as filed (JSON)
);
CREATE INDEX dossiers_organ ON dossiers (receiving_organ, received_at);
CREATE TABLE dossier_events (
    dossier_code    TEXT   NOT NULL REFERENCES dossiers (code),
    seq             BIGINT NOT NULL,        -- 1: the filing
    status          BIGINT NOT NULL,
    previous_status BIGINT,                 -- NULL for the filing
    at              BIGINT NOT NULL,        -- ThoiDiemXuLy (the filing: received_at), unix milliseconds
    recorded_at     BIGINT NOT NULL,
    member          TEXT   NOT NULL,
    request_id      TEXT   NOT NULL,
    detail          TEXT   NOT NULL,        -- handler, handler_title, department, note (JSON)
    PRIMARY KEY (dossier_code, seq)
);
