-- Schema v5: sync state bound to one migration for good. Migration IDs come back after a
-- database restore or a fresh install; the state directory (sync.state_dir/migrationID) names
-- the migration's sync_identity, a random UUID never reused, and the worker checks it before
-- every run. legacy_state_ok marks the migrations that existed when this schema step ran: a
-- state directory written before identities existed is theirs; any later migration that finds
-- one gets a fresh state instead.

ALTER TABLE migrations
    ADD COLUMN sync_identity   uuid    NOT NULL DEFAULT gen_random_uuid(),
    ADD COLUMN legacy_state_ok boolean NOT NULL DEFAULT true;
ALTER TABLE migrations ALTER COLUMN legacy_state_ok SET DEFAULT false;
CREATE UNIQUE INDEX migrations_sync_identity_idx ON migrations (sync_identity);
