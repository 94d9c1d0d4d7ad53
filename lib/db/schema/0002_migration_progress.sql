-- Schema v2: what the worker records per migration (progress of the current or last run,
-- run counters, the admin's "finish" request) and the index its claim query needs.

ALTER TABLE migrations
    ADD COLUMN folders_total     integer NOT NULL DEFAULT 0 CHECK (folders_total >= 0),
    ADD COLUMN folders_done      integer NOT NULL DEFAULT 0 CHECK (folders_done >= 0),
    ADD COLUMN messages_copied   bigint  NOT NULL DEFAULT 0 CHECK (messages_copied >= 0),
    ADD COLUMN messages_total    bigint  NOT NULL DEFAULT 0 CHECK (messages_total >= 0),
    ADD COLUMN bytes_copied      bigint  NOT NULL DEFAULT 0 CHECK (bytes_copied >= 0),
    ADD COLUMN runs              integer NOT NULL DEFAULT 0 CHECK (runs >= 0),
    ADD COLUMN finish_requested  boolean NOT NULL DEFAULT false,
    ADD COLUMN last_run_started  timestamptz,
    ADD COLUMN finished_at       timestamptz;

-- The claim query: due tasks in claimable states, oldest first.
DROP INDEX migrations_due_idx;
CREATE INDEX migrations_claim_idx ON migrations (next_sync_at)
    WHERE state IN ('pending', 'synced', 'failed', 'syncing');
CREATE INDEX migrations_state_idx ON migrations (state);

ALTER TABLE migration_events
    ADD COLUMN messages_copied bigint,
    ADD COLUMN duration_ms     bigint;
