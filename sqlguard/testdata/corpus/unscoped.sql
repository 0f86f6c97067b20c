-- Variants of scoped.sql that are not scoped to the tenant, or reach past
-- it: each must be refused, whatever Go type carries the tenant. The
-- header is as in scoped.sql, and names the rule that refuses it.

-- name: GetWorkflowByIDOnly (sqlc) rule: unscoped
SELECT "tenantId", id, name FROM "Workflow" WHERE id = $1::uuid;

-- name: TenantInAnotherColumn (sqlc) rule: unscoped tenant: $1
SELECT * FROM "Step" WHERE "workflowId" = $1::uuid;

-- name: ListWorkflowsOr (sqlc) rule: or-branch tenant: $1
SELECT w.id FROM "Workflow" w WHERE w."tenantId" = $1::uuid OR w.name ILIKE $2::text;

-- name: UpsertByIDOnly (sqlc) rule: on-conflict tenant: $1
INSERT INTO "Workflow" ("tenantId", id, name) VALUES ($1::uuid, $2::uuid, $3::text) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name;

-- name: UpsertMovesTenant (sqlc) rule: param-tenant tenant: $1 other: $4
INSERT INTO "Workflow" ("tenantId", id, name) VALUES ($1::uuid, $2::uuid, $3::text)
ON CONFLICT ("tenantId", id) DO UPDATE SET "tenantId" = $4::uuid;

-- name: UpdateMovesTenant (sqlc) rule: assign-tenant tenant: $1
UPDATE "Workflow" SET "tenantId" = "Workflow".id WHERE "tenantId" = $1::uuid;

-- name: RowValueTenantInOr (sqlc) rule: or-branch tenant: $3
SELECT id FROM "Workflow" WHERE (name, "deletedAt", "tenantId") = ($1::text, $2::timestamptz, $3::uuid) OR name = $1::text;

-- name: RowValueTenantMisplaced (sqlc) rule: unscoped tenant: $1
SELECT id FROM "Workflow" WHERE (name, id) = ($2::text, $1::uuid);

-- name: StepsJoinedByIDOnly (sqlc) rule: unscoped tenant: $1
SELECT s.* FROM "Step" s JOIN "Workflow" w ON w.id = s."workflowId" WHERE w."tenantId" = $1::uuid;

-- name: ExistsUnscoped (sqlc) rule: unscoped tenant: $1
SELECT s.id FROM "Step" s WHERE s."tenantId" = $1::uuid AND EXISTS (SELECT 1 FROM "Workflow" w WHERE w.id = s."workflowId");

-- name: CteNotScoped (sqlc) rule: unscoped
WITH deleted AS (SELECT "tenantId", id FROM "Workflow" WHERE "deletedAt" < now())
DELETE FROM "Step" WHERE ("tenantId", "workflowId") IN (SELECT "tenantId", id FROM deleted);

-- name: CteReachedByIDOnly (sqlc) rule: unscoped tenant: $1
WITH deleted AS (SELECT "tenantId", id FROM "Workflow" WHERE "tenantId" = $1::uuid)
DELETE FROM "Step" WHERE "workflowId" IN (SELECT id FROM deleted);

-- name: CteScopedByOr (sqlc) rule: or-branch tenant: $1
WITH to_replay AS (SELECT tenant_id, id FROM v1_task WHERE tenant_id = $1::uuid OR status = 'FAILED')
UPDATE v1_task SET status = 'QUEUED' WHERE (tenant_id, id) IN (SELECT tenant_id, id FROM to_replay);

-- name: ArrayOfIDsOnly (sqlc) rule: unscoped
SELECT * FROM "Workflow" WHERE id = ANY($1::uuid[]);

-- name: ArrayOfTenantsWithAnother (sqlc) rule: param-tenant tenant: $1[] other: $1[]
SELECT id FROM v1_task WHERE tenant_id = ANY($1::uuid[]);

-- name: EmptyArrayOfTenants (sqlc) rule: param-tenant empty: $1[]
SELECT id FROM v1_task WHERE tenant_id = ANY($1::uuid[]);

-- name: InSubselectUnscoped (sqlc) rule: unscoped
SELECT e.* FROM v1_task_event e WHERE (e.tenant_id, e.task_id) IN (SELECT tenant_id, id FROM v1_task WHERE status = 'RUNNING');

-- name: SubselectOfOtherColumn (sqlc) rule: unscoped tenant: $1
SELECT e.* FROM v1_task_event e WHERE e.tenant_id IN (SELECT workflow_id FROM v1_task WHERE tenant_id = $1::uuid);

-- name: RecursiveJoinByParentOnly (sqlc) rule: unscoped tenant: $1
WITH RECURSIVE tree AS (
    SELECT tenant_id, id FROM v1_task WHERE tenant_id = $1::uuid AND id = $2::bigint
    UNION ALL SELECT t.tenant_id, t.id FROM v1_task t JOIN tree ON t.parent_task_id = tree.id
)
SELECT id FROM tree;

-- name: LeftJoinPreservedUnscoped (sqlc) rule: unscoped tenant: $1
SELECT t.id FROM v1_task t LEFT JOIN v1_lookup l ON l.tenant_id = $1::uuid AND l.task_id = t.id;

-- name: UnknownTable (sqlc) rule: unknown-relation tenant: $1
SELECT * FROM v1_task_archive WHERE tenant_id = $1::uuid;

-- name: CatalogStats (sqlc) rule: catalog-relation
SELECT most_common_vals FROM pg_stats WHERE tablename = 'v1_task' AND attname = 'input';

-- name: OtherSessions (sqlc) rule: catalog-relation
SELECT query FROM pg_stat_activity WHERE datname = current_database();

-- name: QueryInText (sqlc) rule: function tenant: $1
SELECT ts_rewrite('a'::tsquery, 'SELECT input::text::tsquery, ''b''::tsquery FROM v1_task') FROM "Tenant" WHERE id = $1::uuid;

-- name: SessionLock (sqlc) rule: function tenant: $1
SELECT pg_advisory_lock(42), id FROM "Tenant" WHERE id = $1::uuid;

-- name: TablesSize (sqlc) rule: function
SELECT pg_total_relation_size('v1_task');

-- name: SelectWorkflowNoTenant (bun) rule: unscoped
SELECT "w"."id", "w"."name" FROM "Workflow" AS "w" WHERE ("w"."deletedAt" IS NULL);

-- name: SelectWorkflowOtherTenant (bun) rule: literal-tenant
SELECT "w"."id" FROM "Workflow" AS "w" WHERE ("w"."tenantId" = '{other}');

-- name: InsertOtherTenant (bun) rule: literal-tenant
INSERT INTO "Workflow" AS "w" ("tenantId", "id", "name") VALUES ('{tenant}', '0195f1c2-0000-7000-8000-0000000000c1', 'a'), ('{other}', '0195f1c2-0000-7000-8000-0000000000c2', 'b');

-- name: BulkUpdateDataNotTenant (bun) rule: unscoped
WITH "_data" ("tenant_id", "id", "status") AS (VALUES ('{tenant}'::uuid, 1::bigint, 'DONE'::text), (gen_random_uuid(), 2::bigint, 'FAILED'::text))
UPDATE "v1_task" AS "t" SET "status" = _data."status" FROM _data WHERE ("t"."tenant_id" = _data."tenant_id") AND ("t"."id" = _data."id");

-- name: InOtherTenant (bun) rule: literal-tenant
SELECT "t"."id" FROM "v1_task" AS "t" WHERE ("t"."tenant_id" IN ('{tenant}', '{other}'));

-- name: SaveWithoutTenant (gorm) rule: unscoped tenant: $1
UPDATE "v1_task" SET "tenant_id"=$1,"status"=$2 WHERE "v1_task"."deleted_at" IS NULL AND "id" = $3;

-- name: SaveMovingTenant (gorm) rule: param-tenant tenant: $4 other: $1
UPDATE "v1_task" SET "tenant_id"=$1,"status"=$2 WHERE "id" = $3 AND tenant_id = $4;

-- name: DeleteWithoutTenant (gorm) rule: unscoped
DELETE FROM "v1_task" WHERE "v1_task"."id" IN ($1,$2);

-- name: PreloadWithoutTenant (gorm) rule: unscoped
SELECT * FROM "v1_task_event" WHERE "v1_task_event"."task_id" IN ($1,$2,$3);

-- name: JoinsWithoutTenant (gorm) rule: unscoped tenant: $1
SELECT "v1_task"."id","Lookup"."external_id" FROM "v1_task" LEFT JOIN "v1_lookup" "Lookup" ON "v1_task"."id" = "Lookup"."task_id" WHERE v1_task.tenant_id = $1;

-- name: CreateInBatchesOtherTenant (gorm) rule: param-tenant tenant: $1 other: $6
INSERT INTO "v1_task_event" ("tenant_id","id","task_id","event_type","data") VALUES ($1,$2,$3,$4,$5),($6,$7,$8,$9,$10);

-- name: CreateWithoutTenant (gorm) rule: insert-tenant
INSERT INTO "v1_task" ("id","workflow_id","external_id","status") VALUES ($1,$2,$3,$4);
