-- A project tracker's schema, as a team adopting the SDK has it: older
-- tables made by Prisma (quoted camel case, "tenantId"), newer ones by
-- hand (snake case, tenant_id), the tenants themselves keyed by id, and
-- shared users. corpus_test.go builds the model from the comments below.
-- model: public.Tenant tenant id
CREATE TABLE "Tenant" (id uuid PRIMARY KEY, name text NOT NULL, slug text NOT NULL, "createdAt" timestamptz NOT NULL DEFAULT now());
-- model: public.User registry
CREATE TABLE "User" (id uuid PRIMARY KEY, email text NOT NULL UNIQUE, name text);
-- model: public.TenantMember tenant tenantId
CREATE TABLE "TenantMember" ("tenantId" uuid NOT NULL REFERENCES "Tenant", "userId" uuid NOT NULL REFERENCES "User", role text NOT NULL, PRIMARY KEY ("tenantId", "userId"));
-- model: public.Workflow tenant tenantId
CREATE TABLE "Workflow" ("tenantId" uuid NOT NULL, id uuid NOT NULL, name text NOT NULL, description text,
  "createdAt" timestamptz NOT NULL DEFAULT now(), "updatedAt" timestamptz NOT NULL DEFAULT now(), "deletedAt" timestamptz,
  PRIMARY KEY ("tenantId", id), UNIQUE ("tenantId", name));
-- model: public.Step tenant tenantId
CREATE TABLE "Step" ("tenantId" uuid NOT NULL, id uuid NOT NULL, "workflowId" uuid NOT NULL, "readableId" text NOT NULL, retries int NOT NULL DEFAULT 0,
  PRIMARY KEY ("tenantId", id), FOREIGN KEY ("tenantId", "workflowId") REFERENCES "Workflow" ("tenantId", id));
-- model: public.APIToken tenant tenantId
CREATE TABLE "APIToken" ("tenantId" uuid NOT NULL, id uuid NOT NULL, name text NOT NULL, "expiresAt" timestamptz, revoked boolean NOT NULL DEFAULT false,
  PRIMARY KEY ("tenantId", id));
-- model: public.v1_task tenant tenant_id
CREATE TABLE v1_task (tenant_id uuid NOT NULL, id bigint NOT NULL, workflow_id uuid NOT NULL, external_id uuid NOT NULL, status text NOT NULL,
  priority int NOT NULL DEFAULT 1, input jsonb, inserted_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz, deleted_at timestamptz,
  parent_task_id bigint, PRIMARY KEY (tenant_id, id));
-- model: public.v1_task_event tenant tenant_id
CREATE TABLE v1_task_event (tenant_id uuid NOT NULL, id bigint NOT NULL, task_id bigint NOT NULL, event_type text NOT NULL, data jsonb,
  created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (tenant_id, id));
-- model: public.v1_lookup tenant tenant_id
CREATE TABLE v1_lookup (tenant_id uuid NOT NULL, external_id uuid NOT NULL, task_id bigint NOT NULL, PRIMARY KEY (tenant_id, external_id));
-- model: public.v1_queue_item tenant tenant_id
CREATE TABLE v1_queue_item (tenant_id uuid NOT NULL, id bigint NOT NULL, task_id bigint NOT NULL, queue text NOT NULL, priority int NOT NULL DEFAULT 1,
  PRIMARY KEY (tenant_id, id));
-- model: public.plans registry
CREATE TABLE plans (id text PRIMARY KEY, max_workflows int NOT NULL);
-- Added by a later migration; the model has not caught up with it.
CREATE TABLE v1_task_archive (LIKE v1_task);
