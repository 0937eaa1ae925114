-- weft's PostgreSQL schema, version 3: cancel requests. A server asked to cancel a run that
-- another server runs marks the run's live claim; the worker holding the claim checks the
-- mark (every second at most, with its renewals) and cancels the run. A new claim clears it.
ALTER TABLE weft_claims ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false;
