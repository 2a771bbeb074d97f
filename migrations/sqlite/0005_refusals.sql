-- SMTP-time refusals are bounces too (kind 'refused'): a relay's 5xx to RCPT TO or DATA,
-- or a 4xx that outlived the delivery's lifetime. They come from no inbound message, so
-- inbound_id may be NULL. SQLite cannot drop a NOT NULL constraint: the table is rebuilt.
CREATE TABLE bounces_new (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    inbound_id  INTEGER,            -- NULL for a refusal at SMTP time
    kind        TEXT    NOT NULL,   -- failure | delay | complaint | refused
    verp        TEXT,               -- delivery ID | post ID | answer ID
    list_id     TEXT,
    address     TEXT,
    permanent   INTEGER NOT NULL,   -- 0 | 1
    status      TEXT,               -- 5.1.1
    diagnostic  TEXT,
    effect      TEXT    NOT NULL    -- what it did: scored | disabled | unsubscribed | none: why
);
INSERT INTO bounces_new (id, at, inbound_id, kind, verp, list_id, address, permanent, status, diagnostic, effect)
    SELECT id, at, inbound_id, kind, verp, list_id, address, permanent, status, diagnostic, effect FROM bounces;
DROP TABLE bounces;
ALTER TABLE bounces_new RENAME TO bounces;
CREATE INDEX bounces_by_member ON bounces (list_id, address, at);
