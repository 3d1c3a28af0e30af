-- row level security enabled but not forced: the owner would bypass it
CREATE TABLE leaky (
    id bigserial PRIMARY KEY,
    tenant_id uuid NOT NULL
);
ALTER TABLE leaky ENABLE ROW LEVEL SECURITY;
