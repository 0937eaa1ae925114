-- weft's PostgreSQL schema, version 2: `weft_delete_session`, deleting a session with its runs
-- in an order that is safe against the runs' writers.
--
-- Version 1 deleted all of it in one statement (a CTE) that took one snapshot and locked the
-- runs before their claims. Two races came of it: rows an append in flight committed after
-- that snapshot (the append held the run's claim FOR SHARE) were not seen and outlived the
-- delete; and a writer that held the claim and then wrote the run row (`weft_put_run` locks
-- the claim, then the run) deadlocked with it.
--
-- This function locks the claims first, as every writer does, then deletes the rest in later
-- statements. A PL/pgSQL function is VOLATILE: under READ COMMITTED (PostgreSQL's default)
-- each statement in it takes a fresh snapshot, so it sees whatever the writers it waited for
-- committed. Returns whether the session existed.
CREATE FUNCTION weft_delete_session(p_session_id text)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    -- 1. The claims of the session's runs, in run_id order (two deletes of one session take
    --    them in the same order): this waits for every write in flight of those runs (each
    --    holds its run's claim FOR SHARE until it commits) and makes the writes that come
    --    later wait in turn; once the claims are deleted these find none and are refused
    --    (`Fenced`), as a write with a token for a run without a claim is.
    PERFORM 1 FROM weft_claims c
    WHERE c.run_id IN (SELECT r.run_id FROM weft_runs r WHERE r.session_id = p_session_id)
    ORDER BY c.run_id
    FOR UPDATE OF c;
    -- A fresh snapshot from here on: the runs, logs and journals those writes committed.
    DELETE FROM weft_claims c
    WHERE c.run_id IN (SELECT r.run_id FROM weft_runs r WHERE r.session_id = p_session_id);
    -- 2. The log heads (an append of a run without a claim holds its head FOR UPDATE: this
    --    waits for it), then the logs and journals.
    DELETE FROM weft_log_heads h
    WHERE h.run_id IN (SELECT r.run_id FROM weft_runs r WHERE r.session_id = p_session_id);
    DELETE FROM weft_events e
    WHERE e.run_id IN (SELECT r.run_id FROM weft_runs r WHERE r.session_id = p_session_id);
    DELETE FROM weft_journal j
    WHERE j.run_id IN (SELECT r.run_id FROM weft_runs r WHERE r.session_id = p_session_id);
    -- 3. The runs, then the session.
    DELETE FROM weft_runs r WHERE r.session_id = p_session_id;
    DELETE FROM weft_sessions s WHERE s.session_id = p_session_id;
    RETURN FOUND;
END
$$;
