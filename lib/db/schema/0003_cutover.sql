-- Schema v3 (cutover): what the SQL passdb needs to proxy a migrating user's sessions to the
-- old provider until their first complete sync (`cutover: proxy`), in the one query it already
-- runs per login.

-- Where the old providers of imap-migration.yaml are, as far as the proxy needs it. Written
-- from the configuration (by a first login's statement and by the worker at start and
-- reload), never by hand: the YAML stays the place an admin edits.
CREATE TABLE providers (
    name               text PRIMARY KEY,
    host               text NOT NULL,
    imap_port          integer NOT NULL CHECK (imap_port BETWEEN 1 AND 65535),
    pop3_port          integer NOT NULL CHECK (pop3_port BETWEEN 1 AND 65535),
    security           text NOT NULL CHECK (security IN ('tls', 'starttls', 'none')),
    verify_certificate boolean NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Decided when the migration is created, from its provider's `cutover`: a later change of the
-- setting never sends a user who already works here back to the old provider.
ALTER TABLE migrations
    ADD COLUMN proxy_until_synced boolean NOT NULL DEFAULT false,
    -- The end of the proxy window: the first run that left nothing to copy.
    ADD COLUMN first_synced_at timestamptz;
