-- Bounces and complaints: every report kept per member, and the member's score.

-- The score decays from bounce_at; disabled members get notices until removed.
ALTER TABLE members ADD COLUMN bounce_score  DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN bounce_at     BIGINT;          -- when the score last rose
ALTER TABLE members ADD COLUMN bounce_weight DOUBLE PRECISION NOT NULL DEFAULT 0; -- what it rose by that day
ALTER TABLE members ADD COLUMN disabled_at   BIGINT;
ALTER TABLE members ADD COLUMN notices_sent  BIGINT  NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN notice_at     BIGINT;
CREATE INDEX members_disabled ON members (status, disabled_at);

-- One row per recipient a report names (or one for a report tied to nothing).
CREATE TABLE bounces (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT  NOT NULL,
    inbound_id  BIGINT  NOT NULL,
    kind        TEXT    NOT NULL,   -- failure | delay | complaint
    verp        TEXT,               -- delivery ID | post ID | answer ID
    list_id     TEXT,
    address     TEXT,
    permanent   BIGINT  NOT NULL,   -- 0 | 1
    status      TEXT,               -- 5.1.1
    diagnostic  TEXT,
    effect      TEXT    NOT NULL    -- what it did: scored | disabled | unsubscribed | none: why
);
CREATE INDEX bounces_by_member ON bounces (list_id, address, at);
