-- Schema v1: mail domains, accounts and aliases served by Dovecot and Postfix, plus the
-- migration tasks created at first login. Names are stored lower-case; the CHECKs keep it so.

CREATE TABLE domains (
    id                       bigserial PRIMARY KEY,
    name                     text NOT NULL UNIQUE CHECK (name = lower(name) AND name <> ''),
    quota_mb                 bigint NOT NULL DEFAULT 0 CHECK (quota_mb >= 0),
    default_mailbox_quota_mb bigint NOT NULL DEFAULT 0 CHECK (default_mailbox_quota_mb >= 0),
    enabled                  boolean NOT NULL DEFAULT true,
    created_at               timestamptz NOT NULL DEFAULT now(),
    CHECK (quota_mb = 0 OR default_mailbox_quota_mb <= quota_mb)
);

CREATE TABLE domain_aliases (
    id               bigserial PRIMARY KEY,
    name             text NOT NULL UNIQUE CHECK (name = lower(name) AND name <> ''),
    target_domain_id bigint NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    enabled          boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE relay_domains (
    id                bigserial PRIMARY KEY,
    name              text NOT NULL UNIQUE CHECK (name = lower(name) AND name <> ''),
    target_host       text NOT NULL,
    target_port       integer NOT NULL DEFAULT 25 CHECK (target_port BETWEEN 1 AND 65535),
    service           text NOT NULL DEFAULT 'relay',
    enabled           boolean NOT NULL DEFAULT true,
    verify_recipients boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE accounts (
    id          bigserial PRIMARY KEY,
    -- the login name Dovecot sees
    username    text NOT NULL UNIQUE CHECK (username = lower(username) AND username <> ''),
    -- the mailbox address; NULL for an administrator without a mailbox
    address     text UNIQUE CHECK (address = lower(address)),
    domain_id   bigint REFERENCES domains(id) ON DELETE RESTRICT,
    password    text NOT NULL CHECK (password LIKE '{%}%'),
    first_name  text NOT NULL DEFAULT '',
    last_name   text NOT NULL DEFAULT '',
    enabled     boolean NOT NULL DEFAULT true,
    role        text NOT NULL DEFAULT 'SimpleUsers'
                CHECK (role IN ('SuperAdmins', 'DomainAdmins', 'Resellers', 'SimpleUsers')),
    quota_mb    bigint NOT NULL DEFAULT 0 CHECK (quota_mb >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((address IS NULL) = (domain_id IS NULL))
);
CREATE INDEX accounts_domain_idx ON accounts (domain_id);

CREATE TABLE administered_domains (
    account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    domain_id  bigint NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    PRIMARY KEY (account_id, domain_id)
);

CREATE TABLE aliases (
    id         bigserial PRIMARY KEY,
    -- '@domain' is a catch-all
    address    text NOT NULL UNIQUE CHECK (address = lower(address) AND address LIKE '%@%'),
    domain_id  bigint NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    enabled    boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE alias_recipients (
    alias_id  bigint NOT NULL REFERENCES aliases(id) ON DELETE CASCADE,
    recipient text NOT NULL CHECK (recipient = lower(recipient) AND recipient <> ''),
    PRIMARY KEY (alias_id, recipient)
);

-- One migration per local account. The old password is sealed (XChaCha20-Poly1305) with the
-- key named by secret_key_id; it is wiped when the migration finishes.
CREATE TABLE migrations (
    id             bigserial PRIMARY KEY,
    account_id     bigint NOT NULL UNIQUE REFERENCES accounts(id) ON DELETE CASCADE,
    provider       text NOT NULL,
    old_login      text NOT NULL,
    secret         bytea,
    secret_key_id  text,
    state          text NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'syncing', 'synced', 'finished', 'stopped',
                                    'failed', 'credentials_rejected')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    next_sync_at   timestamptz NOT NULL DEFAULT now(),
    last_sync_at   timestamptz,
    last_error     text,
    attempts       integer NOT NULL DEFAULT 0,
    lease_owner    text,
    lease_expires  timestamptz,
    CHECK ((secret IS NULL) = (secret_key_id IS NULL)),
    UNIQUE (provider, old_login)
);
CREATE INDEX migrations_due_idx ON migrations (next_sync_at) WHERE state IN ('pending', 'synced', 'failed');

CREATE TABLE migration_events (
    id           bigserial PRIMARY KEY,
    migration_id bigint NOT NULL REFERENCES migrations(id) ON DELETE CASCADE,
    at           timestamptz NOT NULL DEFAULT now(),
    kind         text NOT NULL,
    message      text NOT NULL DEFAULT ''
);
CREATE INDEX migration_events_migration_idx ON migration_events (migration_id, at);

-- Rejected credential checks per remote IP and per login, so the plugin never becomes a
-- brute-force amplifier against the old provider. Losing it in a crash is harmless.
CREATE UNLOGGED TABLE login_check_failures (
    kind           text NOT NULL CHECK (kind IN ('ip', 'user')),
    key            text NOT NULL,
    window_start   timestamptz NOT NULL DEFAULT now(),
    failures       integer NOT NULL DEFAULT 0,
    refusal_logged boolean NOT NULL DEFAULT false,
    PRIMARY KEY (kind, key)
);
