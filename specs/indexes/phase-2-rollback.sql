-- Roll back the phase-2 indexes (specs/indexes/phase-2.sql). DROP INDEX CONCURRENTLY does not
-- block reads or writes; IF EXISTS makes the rollback safe to repeat.
DROP INDEX CONCURRENTLY IF EXISTS "idx_messages_conversation_created_desc";
DROP INDEX CONCURRENTLY IF EXISTS "idx_conversation_users_user_active";
DROP INDEX CONCURRENTLY IF EXISTS "idx_conversations_updated_desc";

-- verify: none of them is left
SELECT count(*) AS remaining_phase2_indexes
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema()
  AND c.relname IN ('idx_messages_conversation_created_desc',
                    'idx_conversation_users_user_active',
                    'idx_conversations_updated_desc');
