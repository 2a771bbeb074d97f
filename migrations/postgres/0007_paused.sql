-- A member may pause delivery from their page and resume it later: still a member
-- (status unchanged), sent no posts while paused.
ALTER TABLE members ADD COLUMN paused BIGINT NOT NULL DEFAULT 0;
