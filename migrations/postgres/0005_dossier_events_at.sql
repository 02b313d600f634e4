-- On-time statistics (GET /v1/reports/on-time) find the dossiers whose processing ended in a
-- period through the time of their status changes. Portable SQL: the same text on both backends.
CREATE INDEX dossier_events_at ON dossier_events (at);
