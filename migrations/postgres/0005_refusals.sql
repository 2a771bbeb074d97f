-- SMTP-time refusals are bounces too (kind 'refused'): a relay's 5xx to RCPT TO or DATA,
-- or a 4xx that outlived the delivery's lifetime. They come from no inbound message, so
-- inbound_id may be NULL.
ALTER TABLE bounces ALTER COLUMN inbound_id DROP NOT NULL;
