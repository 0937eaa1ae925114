-- Version 4: runs that pause for a person. A run record written `paused` releases the claim
-- it was written with, as one written `interrupted` does (the run is continued later, by any
-- worker, under a new claim); `completed`, `failed` and `cancelled` still end it.
CREATE OR REPLACE FUNCTION weft_put_run(
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
    IF p_status IN ('interrupted', 'paused') THEN
        UPDATE weft_claims c SET expires_at = 'epoch'
        WHERE c.run_id = p_run_id AND c.fence = p_fence;
    ELSIF p_status <> 'running' THEN
        DELETE FROM weft_claims c WHERE c.run_id = p_run_id AND c.fence = p_fence;
    END IF;
    RETURN NULL;
END
$$;
