-- A busy router reports its successful calls to a provider and model as one summary per
-- interval instead of one observation per call: a row now stands for `calls` calls, with the
-- latest of their latencies (up to 256) for the window percentiles. Existing rows are single
-- calls.
ALTER TABLE health_observations
    ADD COLUMN calls integer NOT NULL DEFAULT 1 CHECK (calls >= 1),
    ADD COLUMN latencies_ms real[] NOT NULL DEFAULT '{}',
    ADD COLUMN first_observed_at timestamptz;
