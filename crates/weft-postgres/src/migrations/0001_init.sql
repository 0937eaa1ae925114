-- weft's PostgreSQL schema, version 1: sessions, runs, each run's event log and journal, and
-- the claims workers hold on runs.
--
-- Records are JSON kept in `text` columns, as serde_json wrote them: Postgres' `jsonb` refuses
-- the `\u0000` escape a model's or a tool's output may hold, and text is stored and read back
-- without being parsed again. Cast a column to `jsonb` to query into it. Timestamps are
-- milliseconds since the Unix epoch (`bigint`), as weft's records carry them; a claim's
-- expiry is a `timestamptz` compared with the database's clock.

-- One row per session; the compare-and-swap `version` is 1 after the first write.
CREATE TABLE weft_sessions (
    session_id    text PRIMARY KEY,
    workflow_id   text NOT NULL,
    workflow_name text NOT NULL,
    session_name  text,
    user_id       text,
    session_state text NOT NULL,
    version       bigint NOT NULL,
    created_at    bigint NOT NULL,
    updated_at    bigint NOT NULL
);
-- Listings walk one of these, newest first.
CREATE INDEX weft_sessions_by_time ON weft_sessions (updated_at DESC, session_id);
CREATE INDEX weft_sessions_by_workflow ON weft_sessions (workflow_id, updated_at DESC, session_id);
CREATE INDEX weft_sessions_by_user ON weft_sessions (user_id, updated_at DESC, session_id)
    WHERE user_id IS NOT NULL;

-- One row per run: the record as JSON, and what queries select and order by. `position`
-- orders a session's runs as they were first written.
CREATE TABLE weft_runs (
    run_id      text PRIMARY KEY,
    position    bigint GENERATED ALWAYS AS IDENTITY,
    session_id  text NOT NULL,
    workflow_id text NOT NULL,
    status      text NOT NULL,
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL,
    record      text NOT NULL
);
CREATE INDEX weft_runs_by_session ON weft_runs (session_id, position);
-- The runs `interrupted_runs` looks at: interrupted, or running (perhaps with a lapsed claim).
CREATE INDEX weft_runs_unfinished ON weft_runs (created_at, position)
    WHERE status IN ('running', 'interrupted');

-- Where each run's log stands: its last logged seq and how many journal entries it has.
-- Appends lock this row, so two appenders of one run never both continue the same seq.
CREATE TABLE weft_log_heads (
    run_id   text PRIMARY KEY,
    last_seq bigint NOT NULL,
    entries  bigint NOT NULL
) WITH (fillfactor = 80);

-- Each run's event log: one row per item, the whole `LoggedEvent` as JSON.
CREATE TABLE weft_events (
    run_id   text NOT NULL,
    seq      bigint NOT NULL,
    identity text NOT NULL,
    event    text NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- Each run's journal, in the order written: the whole `JournalEntry` as JSON.
CREATE TABLE weft_journal (
    run_id   text NOT NULL,
    position bigint NOT NULL,
    key      text NOT NULL,
    entry    text NOT NULL,
    PRIMARY KEY (run_id, position)
);

-- Which worker may write a run, and the fencing token its writes carry. `expires_at` is
-- 'infinity' for a claim held until released, and the epoch for a released one (the run was
-- interrupted). The claim of a run that ended (completed, failed, cancelled) is deleted: the
-- table holds the runs in flight and those waiting to be resumed.
CREATE TABLE weft_claims (
    run_id     text PRIMARY KEY,
    owner      text NOT NULL,
    fence      bigint NOT NULL,
    expires_at timestamptz NOT NULL
) WITH (fillfactor = 80);

-- Fencing tokens, for every run: they only ever grow, so a token is never handed out twice,
-- even for a run whose claim was deleted (it ended, or its session was deleted).
CREATE SEQUENCE weft_fences AS bigint;

-- The fencing rule, in every function below: a write of a run carrying token `p_fence` is
-- refused when the run's claim has another token, or when the run has no claim and the
-- write carries one (`p_fence` <> 0: its claim ended). The claim row is read FOR SHARE, so a
-- claim taken meanwhile waits for the write to commit.

-- Writes a session (compare-and-swap on `version`), for the run `p_run_id` when not null:
-- then refused when the run has a claim with another fencing token. `o_outcome`: 0 written
-- (`o_created_at` is the stored `created_at`), 1 fenced (`o_fence` is the run's token),
-- 2 the stored version is not `p_version`. Nothing is written unless 0.
CREATE FUNCTION weft_upsert_session(
    p_run_id text, p_fence bigint,
    p_session_id text, p_workflow_id text, p_workflow_name text, p_session_name text,
    p_user_id text, p_session_state text, p_version bigint, p_created_at bigint,
    p_updated_at bigint,
    OUT o_outcome integer, OUT o_fence bigint, OUT o_created_at bigint)
LANGUAGE plpgsql AS $$
BEGIN
    o_outcome := 0;
    IF p_run_id IS NOT NULL THEN
        SELECT c.fence INTO o_fence FROM weft_claims c WHERE c.run_id = p_run_id FOR SHARE;
        IF (FOUND AND o_fence <> p_fence) OR (NOT FOUND AND p_fence <> 0) THEN
            o_outcome := 1;
            RETURN;
        END IF;
    END IF;
    IF p_version = 0 THEN
        INSERT INTO weft_sessions (session_id, workflow_id, workflow_name, session_name,
                                   user_id, session_state, version, created_at, updated_at)
        VALUES (p_session_id, p_workflow_id, p_workflow_name, p_session_name, p_user_id,
                p_session_state, 1, p_created_at, p_updated_at)
        ON CONFLICT (session_id) DO NOTHING
        RETURNING created_at INTO o_created_at;
    ELSE
        UPDATE weft_sessions s
        SET workflow_id = p_workflow_id, workflow_name = p_workflow_name,
            session_name = p_session_name, user_id = p_user_id,
            session_state = p_session_state, version = p_version + 1,
            updated_at = p_updated_at
        WHERE s.session_id = p_session_id AND s.version = p_version
        RETURNING s.created_at INTO o_created_at;
    END IF;
    IF NOT FOUND THEN
        o_outcome := 2;
    END IF;
END
$$;

-- Inserts or replaces a run record, fenced by `p_fence`: returns null when written, else the
-- run's current fencing token (0: none; nothing written). A record written `interrupted`
-- releases the claim it was written with; one written `completed`, `failed` or `cancelled`
-- ends it (deletes it).
CREATE FUNCTION weft_put_run(
    p_run_id text, p_fence bigint, p_session_id text, p_workflow_id text, p_status text,
    p_created_at bigint, p_updated_at bigint, p_record text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_current bigint;
BEGIN
    IF p_status = 'running' THEN
        SELECT c.fence INTO v_current FROM weft_claims c WHERE c.run_id = p_run_id FOR SHARE;
    ELSE
        -- The write releases or ends the claim: locked for that at once (two writers that
        -- both took a share lock and then both upgraded it would deadlock).
        SELECT c.fence INTO v_current FROM weft_claims c WHERE c.run_id = p_run_id FOR UPDATE;
    END IF;
    IF (FOUND AND v_current <> p_fence) OR (NOT FOUND AND p_fence <> 0) THEN
        RETURN coalesce(v_current, 0);
    END IF;
    INSERT INTO weft_runs AS r (run_id, session_id, workflow_id, status, created_at,
                                updated_at, record)
    VALUES (p_run_id, p_session_id, p_workflow_id, p_status, p_created_at, p_updated_at,
            p_record)
    ON CONFLICT (run_id) DO UPDATE
    SET session_id = excluded.session_id, workflow_id = excluded.workflow_id,
        status = excluded.status, created_at = excluded.created_at,
        updated_at = excluded.updated_at, record = excluded.record;
    IF p_status = 'interrupted' THEN
        UPDATE weft_claims c SET expires_at = 'epoch'
        WHERE c.run_id = p_run_id AND c.fence = p_fence;
    ELSIF p_status <> 'running' THEN
        DELETE FROM weft_claims c WHERE c.run_id = p_run_id AND c.fence = p_fence;
    END IF;
    RETURN NULL;
END
$$;

-- Appends items and journal entries to a run's log, fenced by `p_fence`. The caller checked
-- the batch itself (seqs consecutive, journal seqs within the batch or the log); this checks
-- it against the run's head under its row lock: the first item must be `last_seq + 1`, or,
-- with no items, every journal seq at most `last_seq` (`p_min_last`). `o_outcome`: 0 written,
-- 1 fenced (`o_fence` is the run's token), 2 the head does not fit (`o_last` is its last seq).
-- Nothing is written unless 0.
CREATE FUNCTION weft_append_log(
    p_run_id text, p_fence bigint, p_min_last bigint,
    p_seqs bigint[], p_identities text[], p_events text[],
    p_keys text[], p_entries text[],
    OUT o_outcome integer, OUT o_fence bigint, OUT o_last bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_items integer := coalesce(array_length(p_seqs, 1), 0);
    v_new_entries integer := coalesce(array_length(p_keys, 1), 0);
    v_entries bigint;
BEGIN
    o_outcome := 0;
    SELECT c.fence INTO o_fence FROM weft_claims c WHERE c.run_id = p_run_id FOR SHARE;
    IF (FOUND AND o_fence <> p_fence) OR (NOT FOUND AND p_fence <> 0) THEN
        o_outcome := 1;
        RETURN;
    END IF;
    IF v_items = 0 AND v_new_entries = 0 THEN
        RETURN;
    END IF;
    SELECT h.last_seq, h.entries INTO o_last, v_entries
    FROM weft_log_heads h WHERE h.run_id = p_run_id FOR UPDATE;
    IF NOT FOUND THEN
        -- The run's first append: its head, locked like any other.
        INSERT INTO weft_log_heads (run_id, last_seq, entries) VALUES (p_run_id, 0, 0)
        ON CONFLICT (run_id) DO NOTHING;
        SELECT h.last_seq, h.entries INTO o_last, v_entries
        FROM weft_log_heads h WHERE h.run_id = p_run_id FOR UPDATE;
    END IF;
    IF (v_items > 0 AND o_last <> p_seqs[1] - 1) OR (v_items = 0 AND o_last < p_min_last) THEN
        o_outcome := 2;
        RETURN;
    END IF;
    IF v_items > 0 THEN
        INSERT INTO weft_events (run_id, seq, identity, event)
        SELECT p_run_id, u.seq, u.identity, u.event
        FROM unnest(p_seqs, p_identities, p_events) AS u(seq, identity, event);
    END IF;
    IF v_new_entries > 0 THEN
        INSERT INTO weft_journal (run_id, position, key, entry)
        SELECT p_run_id, v_entries + u.n, u.key, u.entry
        FROM unnest(p_keys, p_entries) WITH ORDINALITY AS u(key, entry, n);
    END IF;
    UPDATE weft_log_heads h
    SET last_seq = CASE WHEN v_items > 0 THEN p_seqs[v_items] ELSE h.last_seq END,
        entries = h.entries + v_new_entries
    WHERE h.run_id = p_run_id;
    IF v_items > 0 THEN
        o_last := p_seqs[v_items];
    END IF;
END
$$;
