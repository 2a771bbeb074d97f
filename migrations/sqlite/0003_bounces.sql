-- Bounces and complaints: every report kept per member, and the member's score.

-- The score decays from bounce_at; disabled members get notices until removed.
ALTER TABLE members ADD COLUMN bounce_score  REAL    NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN bounce_at     INTEGER;          -- when the score last rose
ALTER TABLE members ADD COLUMN bounce_weight REAL    NOT NULL DEFAULT 0; -- what it rose by that day
ALTER TABLE members ADD COLUMN disabled_at   INTEGER;
ALTER TABLE members ADD COLUMN notices_sent  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN notice_at     INTEGER;
CREATE INDEX members_disabled ON members (status, disabled_at);

-- One row per recipient a report names (or one for a report tied to nothing).
CREATE TABLE bounces (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    inbound_id  INTEGER NOT NULL,
    kind        TEXT    NOT NULL,   -- failure | delay | complaint
    verp        TEXT,               -- delivery ID | post ID | answer ID
    list_id     TEXT,
    address     TEXT,
    permanent   INTEGER NOT NULL,   -- 0 | 1
    status      TEXT,               -- 5.1.1
    diagnostic  TEXT,
    effect      TEXT    NOT NULL    -- what it did: scored | disabled | unsubscribed | none: why
);
CREATE INDEX bounces_by_member ON bounces (list_id, address, at);
