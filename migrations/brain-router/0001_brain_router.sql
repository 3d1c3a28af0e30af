-- The brain router: routing rules (a tenant's own and global ones) and the routing history of
-- every decision. Nothing is deleted: a removed rule is deactivated, history only grows.

CREATE TABLE routing_rules (
    id uuid PRIMARY KEY,
    -- NULL: a global rule, seen by every tenant (written by admins only, checked at the edge)
    tenant_id uuid,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    priority integer NOT NULL,
    conditions jsonb NOT NULL DEFAULT '{}'::jsonb,
    target_model text NOT NULL CHECK (length(target_model) BETWEEN 1 AND 300),
    fallback_models text[] NOT NULL DEFAULT '{}',
    active boolean NOT NULL DEFAULT true,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE INDEX routing_rules_tenant_idx ON routing_rules (tenant_id, priority) WHERE deleted_at IS NULL;

CREATE TABLE routing_decisions (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    user_id text NOT NULL,
    request_id text NOT NULL,
    -- chat, openai, auto_resolve
    source text NOT NULL,
    requested_model text NOT NULL,
    model_id text NOT NULL,
    provider_id text NOT NULL,
    basis text NOT NULL CHECK (basis IN ('requested', 'rule', 'scores')),
    rule_id uuid,
    task_type text NOT NULL,
    task_source text NOT NULL,
    confidence double precision NOT NULL,
    estimated_cost_usd double precision NOT NULL,
    summary text NOT NULL,
    explanation jsonb NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX routing_decisions_tenant_idx ON routing_decisions (tenant_id, created_at DESC);
CREATE INDEX routing_decisions_user_idx ON routing_decisions (tenant_id, user_id, created_at DESC);

-- Tenant isolation enforced by PostgreSQL, owner included. Global rules (tenant_id NULL) are
-- visible to every tenant.
ALTER TABLE routing_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE routing_rules FORCE ROW LEVEL SECURITY;
CREATE POLICY routing_rules_tenant ON routing_rules
    USING (tenant_id IS NULL OR tenant_id = radiant_current_tenant())
    WITH CHECK (tenant_id IS NULL OR tenant_id = radiant_current_tenant());
ALTER TABLE routing_decisions ENABLE ROW LEVEL SECURITY;
ALTER TABLE routing_decisions FORCE ROW LEVEL SECURITY;
CREATE POLICY routing_decisions_tenant ON routing_decisions
    USING (tenant_id = radiant_current_tenant()) WITH CHECK (tenant_id = radiant_current_tenant());
