-- nhomthu schema, SQLite form. migrations/postgres holds the same schema for PostgreSQL;
-- timestamps are Unix seconds in both.

-- One row per (list, address): the membership and where it came from.
CREATE TABLE members (
    list_id      TEXT    NOT NULL,
    address      TEXT    NOT NULL,           -- normalised, lowercase
    display_name TEXT,
    status       TEXT    NOT NULL,           -- pending | confirmed | unsubscribed | disabled
    source       TEXT    NOT NULL,           -- email | operator | config
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    confirmed_at INTEGER,
    PRIMARY KEY (list_id, address)
);
CREATE INDEX members_by_status ON members (list_id, status);

-- Pending confirmations: only the SHA-256 of each token is kept.
CREATE TABLE tokens (
    hash       TEXT    PRIMARY KEY,
    list_id    TEXT    NOT NULL,
    address    TEXT    NOT NULL,
    action     TEXT    NOT NULL,             -- subscribe | unsubscribe
    inbound_id INTEGER,                      -- the request that created it
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX tokens_by_address ON tokens (list_id, address);

-- Every inbound message seen, once: (mailbox, source_key) is the idempotence key.
CREATE TABLE inbound (
    id          INTEGER PRIMARY KEY,
    mailbox     TEXT    NOT NULL,
    source_key  TEXT    NOT NULL,            -- imap:UIDVALIDITY:UID or maildir:UNIQUE
    message_id  TEXT,
    sender      TEXT,
    subject     TEXT,
    class       TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    disposition TEXT    NOT NULL,            -- handled | ignored | quarantined
    raw         BLOB,                        -- kept for quarantined messages only
    received_at INTEGER NOT NULL,
    UNIQUE (mailbox, source_key)
);
CREATE INDEX inbound_by_disposition ON inbound (disposition, received_at);

-- Outgoing mail: a row before it is a socket write.
CREATE TABLE outbound (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,        -- confirm_subscribe | welcome | ...
    list_id         TEXT,
    inbound_id      INTEGER,
    mail_from       TEXT    NOT NULL,        -- envelope sender
    rcpt            TEXT    NOT NULL,
    raw             BLOB    NOT NULL,
    status          TEXT    NOT NULL,        -- queued | deferred | sent | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX outbound_due ON outbound (status, next_attempt_at);
CREATE INDEX outbound_by_rcpt ON outbound (rcpt, created_at);
CREATE INDEX outbound_by_time ON outbound (created_at);

-- Every membership change: what, who or which message, why.
CREATE TABLE audit (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    list_id    TEXT    NOT NULL,
    address    TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    old_status TEXT,
    new_status TEXT,
    actor      TEXT    NOT NULL,             -- mail | operator:NAME | config
    inbound_id INTEGER,
    reason     TEXT    NOT NULL
);
CREATE INDEX audit_by_member ON audit (list_id, address);
