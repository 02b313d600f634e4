-- Business actions (revoke, update, replace): the DocumentId a package acts on, so that the
-- recipients of a document's whole history can be found by (sender organ, document).
ALTER TABLE edocs ADD COLUMN concerns TEXT;
CREATE INDEX edocs_concerns ON edocs (from_organ, concerns);
