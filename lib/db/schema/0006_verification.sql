-- Schema v6: every synced run is verified. The worker compares the old and the new mailbox
-- folder by folder (message counts, message sizes) and keeps the last comparison here; a run
-- after which the new side misses messages leaves the migration `incomplete` (re-synced like
-- `synced`, never finished), with the folders that differ.

ALTER TABLE migrations DROP CONSTRAINT migrations_state_check;
ALTER TABLE migrations ADD CONSTRAINT migrations_state_check
    CHECK (state IN ('pending', 'syncing', 'synced', 'incomplete', 'finished', 'stopped',
                     'failed', 'credentials_rejected'));
ALTER TABLE migrations
    ADD COLUMN verified_at           timestamptz,
    ADD COLUMN missing_messages      bigint CHECK (missing_messages >= 0),
    ADD COLUMN verification_baseline boolean NOT NULL DEFAULT true;
-- verification_baseline: the next verification takes the new mailbox as it is (every old
-- message counts as verified) and only later mail is checked. True for the migrations that
-- exist now: their users may have deleted or moved mail in the new mailbox before anything
-- recorded what arrived. `migrations accept ID` sets it again.
ALTER TABLE migrations ALTER COLUMN verification_baseline SET DEFAULT false;

DROP INDEX migrations_claim_idx;
CREATE INDEX migrations_claim_idx ON migrations (next_sync_at)
    WHERE state IN ('pending', 'synced', 'incomplete', 'failed', 'syncing');

-- The last verification's folders: one row per old folder the sync covers. Old messages up
-- to verified_uid (of old_uidvalidity) were seen on the new server once: later verifications
-- check only newer ones, so what users delete or move in their new mailbox is not "missing".
CREATE TABLE migration_folders (
    migration_id    bigint NOT NULL REFERENCES migrations(id) ON DELETE CASCADE,
    old_name        text   NOT NULL,
    new_name        text   NOT NULL,
    old_messages    bigint NOT NULL CHECK (old_messages >= 0),
    new_messages    bigint CHECK (new_messages >= 0), -- NULL: not on the new server
    missing         bigint NOT NULL CHECK (missing >= 0),
    old_uidvalidity bigint NOT NULL DEFAULT 0,
    verified_uid    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (migration_id, old_name)
);
