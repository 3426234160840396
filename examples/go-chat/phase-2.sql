-- Phase-2 indexes for the go-chat example's hot-path queries (queries/).
-- Built with CREATE INDEX CONCURRENTLY; names unqualified (`synthgen indexes apply` sets the
-- search_path to the target schema).

-- idx: posts (channelid, createat DESC) of live posts
-- rationale: Q1, Q2 and Q5 read one channel's newest live posts; the migration's index is on
--   (channelid, updateat), which cannot give them in createat order: PostgreSQL fetches the
--   whole channel and sorts it.
-- expected plan change: Index Scan with the LIMIT on top, no Sort.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_posts_channel_live_create
    ON posts (channelid, createat DESC) WHERE deleteat = 0;

-- idx: channelmembers (userid) covering the cursor
-- rationale: Q3 and Q4 start from one user's memberships and read the read cursor's count.
-- expected plan change: Index Only Scan on the memberships instead of heap fetches.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_channelmembers_user_cursor
    ON channelmembers (userid) INCLUDE (channelid, msgcount);

-- verify: every phase-2 index exists and is valid; its size
SELECT c.relname AS index_name, i.indisvalid AS valid, i.indisready AS ready,
       pg_size_pretty(pg_relation_size(c.oid)) AS size, pg_relation_size(c.oid) AS size_bytes
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema()
  AND c.relname IN ('idx_posts_channel_live_create', 'idx_channelmembers_user_cursor')
ORDER BY c.relname;
