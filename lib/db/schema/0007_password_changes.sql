-- Schema v7: passwords kept current while migrating. Until a migration is finished the old
-- provider is the authority for the user's password: a login whose password the local hash
-- rejects but the old provider accepts replaces the local hash and the sealed old password
-- (and resumes a task the provider had rejected). password_changed_at is when that last
-- happened: a run that started with the previous password and was rejected for it is not
-- recorded as credentials_rejected but handed back to sync again with the new one.

ALTER TABLE migrations
    ADD COLUMN password_changed_at timestamptz;
