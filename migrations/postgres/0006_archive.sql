-- The archive's full-text index: one row per accepted post, filled the first time a
-- search runs after the post was accepted. Subjects (weight A) and bodies (weight B) are
-- indexed folded (no diacritics, lowercase: text::fold) with the 'simple' configuration,
-- and queries are folded alike, so "cong van" finds "Công văn".
CREATE TABLE archive_docs (
    post_id     BIGINT  PRIMARY KEY,
    indexed_at  BIGINT  NOT NULL,
    terms       tsvector NOT NULL
);
CREATE INDEX archive_docs_terms ON archive_docs USING GIN (terms);
