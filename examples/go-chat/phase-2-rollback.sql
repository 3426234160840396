-- Roll back the go-chat example's phase-2 indexes.
DROP INDEX CONCURRENTLY IF EXISTS idx_posts_channel_live_create;
DROP INDEX CONCURRENTLY IF EXISTS idx_channelmembers_user_cursor;
