-- The relay that took each answer: answers count against the relay's daily quota as
-- posts do.
ALTER TABLE outbound ADD COLUMN relay TEXT;
CREATE INDEX outbound_by_relay ON outbound (relay, sent_at);
