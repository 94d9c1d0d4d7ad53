-- Schema v3: login protection that holds under parallel attempts. A check against the old
-- provider is reserved before it starts, so a limit counts the checks under way as well as the
-- rejected ones: reading the count and counting the attempt are one step, never two.

ALTER TABLE login_check_failures
    -- Checks reserved and not finished yet.
    ADD COLUMN in_flight   integer NOT NULL DEFAULT 0 CHECK (in_flight >= 0),
    -- The last reservation: reservations older than a check can take were lost with their
    -- process (a crash, a kill) and no longer count.
    ADD COLUMN reserved_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX login_check_failures_window_idx ON login_check_failures (window_start);

-- Reserves one check for a remote IP (ip_key NULL or ip_limit 0: not limited by IP) and a login
-- (user_limit 0: not limited), atomically: both counters take it, or neither does.
-- verdict: 'reserved'; 'busy' when rejected plus in-flight checks reach a limit (the caller
-- waits and asks again); 'refused' when the rejected ones alone reach it. limited names the
-- counter ('ip' is looked at first); first_refusal is true for the first refusal of a window,
-- marked in the same transaction so "log once" holds across all processes.
-- Counters are locked IP first, then login, in every caller: no deadlock between two
-- reservations. Expired rows of others are purged afterwards, skipping locked ones, so the
-- purge never waits while holding our rows.
CREATE FUNCTION login_check_reserve(ip_key text, ip_limit integer, user_key text,
                                    user_limit integer, window_seconds integer,
                                    stale_seconds integer, OUT verdict text, OUT limited text,
                                    OUT first_refusal boolean)
LANGUAGE plpgsql AS $$
DECLARE
    win   constant interval := make_interval(secs => window_seconds);
    stale constant interval := make_interval(secs => stale_seconds);
    k     record;
    cur   login_check_failures;
BEGIN
    verdict := 'reserved';
    first_refusal := false;
    FOR k IN SELECT v.kind, v.key, v.lim
             FROM (VALUES (1, 'ip', ip_key, ip_limit), (2, 'user', user_key, user_limit))
                  AS v(o, kind, key, lim)
             WHERE v.key IS NOT NULL AND v.lim > 0 ORDER BY v.o LOOP
        INSERT INTO login_check_failures AS f (kind, key) VALUES (k.kind, k.key)
        ON CONFLICT (kind, key) DO UPDATE SET
            failures = CASE WHEN f.window_start <= now() - win THEN 0 ELSE f.failures END,
            refusal_logged = f.refusal_logged AND f.window_start > now() - win,
            in_flight = CASE WHEN f.reserved_at <= now() - stale THEN 0 ELSE f.in_flight END,
            window_start = CASE WHEN f.window_start <= now() - win THEN now()
                                ELSE f.window_start END
        RETURNING * INTO cur;
        IF cur.failures >= k.lim THEN
            verdict := 'refused';
            limited := k.kind;
            UPDATE login_check_failures SET refusal_logged = true
            WHERE kind = k.kind AND key = k.key AND NOT refusal_logged;
            first_refusal := FOUND;
            EXIT;
        ELSIF cur.failures + cur.in_flight >= k.lim AND verdict = 'reserved' THEN
            verdict := 'busy';
            limited := k.kind;
        END IF;
    END LOOP;
    IF verdict = 'reserved' THEN
        UPDATE login_check_failures SET in_flight = in_flight + 1, reserved_at = now()
        WHERE (kind = 'ip' AND key = ip_key AND ip_limit > 0)
           OR (kind = 'user' AND key = user_key AND user_limit > 0);
    END IF;
    DELETE FROM login_check_failures WHERE ctid IN (
        SELECT ctid FROM login_check_failures
        WHERE window_start <= now() - win
          AND (in_flight = 0 OR reserved_at <= now() - stale)
          AND (kind, key) NOT IN (('ip', coalesce(ip_key, '')), ('user', user_key))
        LIMIT 100 FOR UPDATE SKIP LOCKED);
END $$;
