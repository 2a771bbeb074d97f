-- The archive's full-text index: one row per accepted post, filled the first time a
-- search runs after the post was accepted. Subjects and bodies are stored folded
-- (no diacritics, lowercase: text::fold), and queries are folded alike, so "cong van"
-- finds "Công văn".

-- Which posts are indexed (the FTS table's rowid is the post id).
CREATE TABLE archive_docs (
    post_id     INTEGER PRIMARY KEY,
    indexed_at  INTEGER NOT NULL
);

CREATE VIRTUAL TABLE archive_fts USING fts5(subject, body, tokenize = 'unicode61');
