-- Posts to the lists and their per-recipient delivery state.

-- Every post kept raw, held or accepted. (message_id, sender) recognises the copy of a
-- post that reaches a second alias's mailbox.
CREATE TABLE posts (
    id          BIGSERIAL PRIMARY KEY,
    inbound_id  BIGINT,
    message_id  TEXT,
    sender      TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    list_id     TEXT    NOT NULL,          -- the first list addressed: headers, prefix, footer
    lists       TEXT    NOT NULL,          -- every list addressed, comma-separated
    status      TEXT    NOT NULL,          -- held | accepted | rejected
    reason      TEXT    NOT NULL,
    raw         BYTEA   NOT NULL,
    recipients  BIGINT  NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL,
    decided_at  BIGINT,
    decided_by  TEXT
);
CREATE UNIQUE INDEX posts_by_message ON posts (message_id, sender);
CREATE INDEX posts_by_status ON posts (status, id);

-- One row per recipient of an accepted post: each distinct address once, whatever lists
-- and aliases it was reached through.
CREATE TABLE deliveries (
    id              BIGSERIAL PRIMARY KEY,
    post_id         BIGINT  NOT NULL,
    list_id         TEXT    NOT NULL,      -- the list the member receives it through
    rcpt            TEXT    NOT NULL,
    status          TEXT    NOT NULL,      -- queued | deferred | sent | failed
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    relay           TEXT,
    last_error      TEXT,
    sent_at         BIGINT,
    UNIQUE (post_id, rcpt)
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at, id);
CREATE INDEX deliveries_by_relay ON deliveries (relay, sent_at);

-- Moderation tokens name the post they decide.
ALTER TABLE tokens ADD COLUMN post_id BIGINT;

-- A secret of this site (unsubscribe links), made on first start.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
