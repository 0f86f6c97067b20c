-- Tenant-scoped statements of the shapes sqlc, bun and GORM emit, over
-- schema.sql. Each starts with "-- name: Name (tool)" and lists the
-- parameters that carry the tenant ("tenant: $1", "$2[]" for an array of
-- tenants); {tenant} is the tenant's text, as bun writes arguments. Every
-- one must be accepted for the tenant, whatever Go type carries it.

-- name: GetTenantByID (sqlc) tenant: $1
SELECT id, name, slug, "createdAt" FROM "Tenant" WHERE id = $1::uuid;

-- name: UpdateTenant (sqlc) tenant: $1
UPDATE "Tenant" SET name = COALESCE($2::text, name), slug = COALESCE($3::text, slug) WHERE id = $1::uuid RETURNING *;

-- name: ListMembers (sqlc) tenant: $1
SELECT m."userId", m.role, u.email, u.name FROM "TenantMember" m JOIN "User" u ON u.id = m."userId" WHERE m."tenantId" = $1::uuid ORDER BY u.email;

-- name: GetWorkflowByID (sqlc) tenant: $1
SELECT "tenantId", id, name, description, "createdAt", "updatedAt" FROM "Workflow" WHERE "tenantId" = $1::uuid AND id = $2::uuid AND "deletedAt" IS NULL;

-- name: ListWorkflows (sqlc) tenant: $1
SELECT w.id, w.name, count(*) OVER () AS total FROM "Workflow" w
WHERE w."tenantId" = $1::uuid AND w."deletedAt" IS NULL AND ($2::text IS NULL OR w.name ILIKE concat('%', $2::text, '%'))
ORDER BY w."createdAt" DESC LIMIT COALESCE($3::int, 50) OFFSET COALESCE($4::int, 0);

-- name: CountWorkflows (sqlc) tenant: $1
SELECT count(*) FROM "Workflow" WHERE "tenantId" = $1::uuid AND "deletedAt" IS NULL;

-- name: GetWorkflowsByIDs (sqlc) tenant: $1
SELECT * FROM "Workflow" WHERE "tenantId" = $1::uuid AND id = ANY($2::uuid[]);

-- name: CreateWorkflow (sqlc) tenant: $1
INSERT INTO "Workflow" ("tenantId", id, name, description) VALUES ($1::uuid, gen_random_uuid(), $2::text, $3::text) RETURNING *;

-- name: UpsertWorkflow (sqlc) tenant: $1
INSERT INTO "Workflow" ("tenantId", id, name, description) VALUES ($1::uuid, $2::uuid, $3::text, $4::text)
ON CONFLICT ("tenantId", name) DO UPDATE SET description = EXCLUDED.description, "updatedAt" = now() RETURNING id;

-- name: UpsertWorkflowKeepTenant (sqlc) tenant: $1
INSERT INTO "Workflow" ("tenantId", id, name) VALUES ($1::uuid, $2::uuid, $3::text)
ON CONFLICT ("tenantId", id) DO UPDATE SET "tenantId" = EXCLUDED."tenantId", name = EXCLUDED.name, "updatedAt" = now();

-- name: UpsertWorkflowByIDScoped (sqlc) tenant: $1
INSERT INTO "Workflow" AS w ("tenantId", id, name) VALUES ($1::uuid, $2::uuid, $3::text)
ON CONFLICT ("tenantId", id) DO UPDATE SET name = EXCLUDED.name WHERE w."tenantId" = $1::uuid;

-- name: SoftDeleteWorkflow (sqlc) tenant: $1
UPDATE "Workflow" SET "deletedAt" = CURRENT_TIMESTAMP WHERE "tenantId" = $1::uuid AND id = $2::uuid RETURNING id;

-- name: RowValueLookup (sqlc) tenant: $3
SELECT id, name FROM "Workflow" WHERE (name, "deletedAt", "tenantId") = ($1::text, $2::timestamptz, $3::uuid);

-- name: RowValueIn (sqlc) tenant: $1
SELECT s.id, s."readableId" FROM "Step" s WHERE ("tenantId", "workflowId") IN (($1::uuid, $2::uuid), ($1::uuid, $3::uuid));

-- name: StepsOfWorkflow (sqlc) tenant: $1
SELECT s.* FROM "Step" s JOIN "Workflow" w ON w."tenantId" = s."tenantId" AND w.id = s."workflowId"
WHERE w."tenantId" = $1::uuid AND w.id = $2::uuid ORDER BY s."readableId";

-- name: StepsWithExists (sqlc) tenant: $1
SELECT s.id FROM "Step" s WHERE s."tenantId" = $1::uuid
AND EXISTS (SELECT 1 FROM "Workflow" w WHERE w."tenantId" = s."tenantId" AND w.id = s."workflowId" AND w."deletedAt" IS NULL);

-- name: DeleteStepsOfDeletedWorkflows (sqlc) tenant: $1
WITH deleted AS (
    SELECT "tenantId", id FROM "Workflow" WHERE "tenantId" = $1::uuid AND "deletedAt" < now() - interval '30 days'
)
DELETE FROM "Step" WHERE ("tenantId", "workflowId") IN (SELECT "tenantId", id FROM deleted);

-- name: BumpRetries (sqlc) tenant: $1
UPDATE "Step" SET retries = retries + 1 WHERE "tenantId" = $1::uuid AND id = ANY($2::uuid[]) RETURNING id, retries;

-- name: ListAPITokens (sqlc) tenant: $1
SELECT id, name, "expiresAt" FROM "APIToken" WHERE "tenantId" = $1::uuid AND revoked = false AND ("expiresAt" IS NULL OR "expiresAt" > now());

-- name: RevokeAPIToken (sqlc) tenant: $1
UPDATE "APIToken" SET revoked = true WHERE "tenantId" = $1::uuid AND id = $2::uuid;

-- name: CreateTask (sqlc) tenant: $1
INSERT INTO v1_task (tenant_id, id, workflow_id, external_id, status, input)
VALUES ($1::uuid, $2::bigint, $3::uuid, $4::uuid, 'QUEUED', $5::jsonb) RETURNING *;

-- name: BulkCreateTasks (sqlc) tenant: $1
INSERT INTO v1_task (tenant_id, id, workflow_id, external_id, status)
SELECT $1::uuid, unnest($2::bigint[]), unnest($3::uuid[]), unnest($4::uuid[]), 'QUEUED';

-- name: GetTaskByExternalID (sqlc) tenant: $1
SELECT t.* FROM v1_task t JOIN v1_lookup l ON l.tenant_id = t.tenant_id AND l.task_id = t.id
WHERE l.tenant_id = $1::uuid AND l.external_id = $2::uuid;

-- name: ListTasksByStatus (sqlc) tenant: $1
SELECT id, status, inserted_at FROM v1_task WHERE tenant_id = $1::uuid AND status = ANY($2::text[]) AND deleted_at IS NULL
ORDER BY inserted_at DESC, id DESC LIMIT $3::int;

-- name: TaskCountsByStatus (sqlc) tenant: $1
SELECT status, count(*)::int AS n, max(inserted_at) AS last FROM v1_task WHERE tenant_id = $1::uuid
AND inserted_at > date_trunc('day', now()) - make_interval(days => $2::int) GROUP BY status ORDER BY status;

-- name: TaskMetrics (sqlc) tenant: $1
SELECT to_char(date_trunc('hour', inserted_at), 'YYYY-MM-DD HH24') AS hour, count(*) FILTER (WHERE status = 'FAILED') AS failed,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - inserted_at)) AS p50
FROM v1_task WHERE tenant_id = $1::uuid GROUP BY 1 ORDER BY 1;

-- name: ReplayTasks (sqlc) tenant: $1
WITH to_replay AS (
    SELECT tenant_id, id FROM v1_task WHERE tenant_id = $1::uuid AND id = ANY($2::bigint[]) AND status = 'FAILED'
    FOR UPDATE SKIP LOCKED
)
UPDATE v1_task SET status = 'QUEUED', updated_at = now() WHERE (tenant_id, id) IN (SELECT tenant_id, id FROM to_replay) RETURNING id;

-- name: DeleteTasksAndEvents (sqlc) tenant: $1
WITH to_delete AS (
    SELECT tenant_id, id FROM v1_task WHERE tenant_id = $1::uuid AND inserted_at < $2::timestamptz LIMIT 1000
), deleted_events AS (
    DELETE FROM v1_task_event WHERE (tenant_id, task_id) IN (SELECT tenant_id, id FROM to_delete) RETURNING task_id
)
DELETE FROM v1_task WHERE (tenant_id, id) IN (SELECT tenant_id, id FROM to_delete);

-- name: MoveToQueue (sqlc) tenant: $1
WITH moved AS (
    DELETE FROM v1_task WHERE tenant_id = $1::uuid AND id = $2::bigint RETURNING tenant_id, id, priority
)
INSERT INTO v1_queue_item (tenant_id, id, task_id, queue, priority) SELECT tenant_id, id, id, $3::text, priority FROM moved;

-- name: PopQueueItems (sqlc) tenant: $1
WITH items AS (
    SELECT tenant_id, id FROM v1_queue_item WHERE tenant_id = $1::uuid AND queue = $2::text ORDER BY priority DESC, id LIMIT $3::int FOR UPDATE SKIP LOCKED
)
DELETE FROM v1_queue_item q USING items i WHERE q.tenant_id = i.tenant_id AND q.id = i.id RETURNING q.task_id;

-- name: TaskTree (sqlc) tenant: $1
WITH RECURSIVE tree AS (
    SELECT tenant_id, id, parent_task_id, 0 AS depth FROM v1_task WHERE tenant_id = $1::uuid AND id = $2::bigint
    UNION ALL
    SELECT t.tenant_id, t.id, t.parent_task_id, tree.depth + 1 FROM v1_task t JOIN tree ON t.tenant_id = tree.tenant_id AND t.parent_task_id = tree.id
)
SELECT id, depth FROM tree ORDER BY depth, id;

-- name: TaskEventsJSON (sqlc) tenant: $1
SELECT t.id, jsonb_agg(jsonb_build_object('type', e.event_type, 'at', e.created_at) ORDER BY e.created_at) AS events
FROM v1_task t LEFT JOIN v1_task_event e ON e.tenant_id = t.tenant_id AND e.task_id = t.id
WHERE t.tenant_id = $1::uuid AND t.id = ANY($2::bigint[]) GROUP BY t.id;

-- name: LatestEventPerTask (sqlc) tenant: $1
SELECT DISTINCT ON (task_id) task_id, event_type, data ->> 'message' AS message FROM v1_task_event
WHERE tenant_id = $1::uuid AND task_id = ANY($2::bigint[]) ORDER BY task_id, created_at DESC;

-- name: TaskInput (sqlc) tenant: $1
SELECT id, input -> 'payload' AS payload, jsonb_path_query_first(input, '$.meta.key') AS key FROM v1_task
WHERE tenant_id = $1::uuid AND input @> $2::jsonb;

-- name: TasksForTenants (sqlc) tenant: $1[]
SELECT id, status FROM v1_task WHERE tenant_id = ANY($1::uuid[]) AND status = $2::text;

-- name: TaskByLookupSubselect (sqlc) tenant: $1
SELECT * FROM v1_task WHERE tenant_id = $1::uuid AND id IN (SELECT task_id FROM v1_lookup WHERE tenant_id = $1::uuid AND external_id = ANY($2::uuid[]));

-- name: EventsOfScopedTasks (sqlc) tenant: $1
SELECT e.* FROM v1_task_event e WHERE (e.tenant_id, e.task_id) IN (SELECT tenant_id, id FROM v1_task WHERE tenant_id = $1::uuid AND status = 'RUNNING');

-- name: TasksAndWorkflows (sqlc) tenant: $1
SELECT t.id, w.name FROM v1_task t JOIN "Workflow" w ON w."tenantId" = t.tenant_id AND w.id = t.workflow_id WHERE t.tenant_id = $1::uuid;

-- name: LockTenant (sqlc) tenant: $1
SELECT pg_advisory_xact_lock(42), id FROM "Tenant" WHERE id = $1::uuid;

-- name: TenantPlan (sqlc) tenant: $1
SELECT t.name, p.max_workflows FROM "Tenant" t, plans p WHERE t.id = $1::uuid AND p.id = $2::text;

-- name: WorkflowIDsUnion (sqlc) tenant: $1
SELECT id FROM "Workflow" WHERE "tenantId" = $1::uuid UNION SELECT "workflowId" FROM "Step" WHERE "tenantId" = $1::uuid;

-- name: CurrentTenantHelper (sqlc)
SELECT id, name FROM "Workflow" WHERE "tenantId" = tenancy.current_tenant_id() AND id = $1::uuid;

-- name: SelectWorkflow (bun)
SELECT "w"."tenantId", "w"."id", "w"."name", "w"."description" FROM "Workflow" AS "w" WHERE ("w"."tenantId" = '{tenant}') AND ("w"."deletedAt" IS NULL) ORDER BY "w"."createdAt" DESC LIMIT 20;

-- name: SelectWorkflowByPK (bun)
SELECT "w"."tenantId", "w"."id", "w"."name" FROM "Workflow" AS "w" WHERE ("w"."tenantId" = '{tenant}') AND ("w"."id" = '0195f1c2-0000-7000-8000-0000000000c1');

-- name: CountWorkflows (bun)
SELECT count(*) FROM "Workflow" AS "w" WHERE ("w"."tenantId" = '{tenant}');

-- name: InsertWorkflow (bun)
INSERT INTO "Workflow" AS "w" ("tenantId", "id", "name", "description", "createdAt", "updatedAt", "deletedAt") VALUES ('{tenant}', '0195f1c2-0000-7000-8000-0000000000c1', 'build', DEFAULT, DEFAULT, DEFAULT, DEFAULT) RETURNING "createdAt", "updatedAt";

-- name: BulkInsertTasks (bun)
INSERT INTO "v1_task" AS "t" ("tenant_id", "id", "workflow_id", "external_id", "status") VALUES ('{tenant}', 1, '0195f1c2-0000-7000-8000-0000000000c1', '0195f1c2-0000-7000-8000-0000000000e1', 'QUEUED'), ('{tenant}', 2, '0195f1c2-0000-7000-8000-0000000000c1', '0195f1c2-0000-7000-8000-0000000000e2', 'QUEUED');

-- name: UpsertWorkflow (bun)
INSERT INTO "Workflow" AS "w" ("tenantId", "id", "name") VALUES ('{tenant}', '0195f1c2-0000-7000-8000-0000000000c1', 'build') ON CONFLICT ("tenantId", "id") DO UPDATE SET "name" = EXCLUDED."name", "tenantId" = EXCLUDED."tenantId";

-- name: UpdateWorkflow (bun)
UPDATE "Workflow" AS "w" SET "name" = 'deploy', "updatedAt" = now() WHERE ("w"."tenantId" = '{tenant}') AND ("w"."id" = '0195f1c2-0000-7000-8000-0000000000c1');

-- name: BulkUpdateTasks (bun)
WITH "_data" ("tenant_id", "id", "status") AS (VALUES ('{tenant}'::uuid, 1::bigint, 'DONE'::text), ('{tenant}'::uuid, 2::bigint, 'FAILED'::text))
UPDATE "v1_task" AS "t" SET "status" = _data."status" FROM _data WHERE ("t"."tenant_id" = _data."tenant_id") AND ("t"."id" = _data."id");

-- name: DeleteTasks (bun)
DELETE FROM "v1_task" AS "t" WHERE ("t"."tenant_id" = '{tenant}') AND ("t"."id" IN (1, 2, 3));

-- name: SelectTasksIn (bun)
SELECT "t"."id", "t"."status" FROM "v1_task" AS "t" WHERE ("t"."tenant_id" IN ('{tenant}')) AND ("t"."status" IN ('QUEUED', 'RUNNING'));

-- name: RelationJoin (bun)
SELECT "t"."id", "l"."external_id" AS "l__external_id" FROM "v1_task" AS "t" LEFT JOIN "v1_lookup" AS "l" ON ("l"."tenant_id" = "t"."tenant_id") AND ("l"."task_id" = "t"."id") WHERE ("t"."tenant_id" = '{tenant}');

-- name: Find (gorm) tenant: $1
SELECT * FROM "v1_task" WHERE tenant_id = $1 AND status = $2 AND "v1_task"."deleted_at" IS NULL ORDER BY "v1_task"."id" LIMIT $3;

-- name: First (gorm) tenant: $1
SELECT * FROM "v1_task" WHERE tenant_id = $1 AND "v1_task"."id" = $2 AND "v1_task"."deleted_at" IS NULL ORDER BY "v1_task"."id" LIMIT $3;

-- name: Create (gorm) tenant: $1
INSERT INTO "v1_task" ("tenant_id","id","workflow_id","external_id","status","priority","input","inserted_at","updated_at","deleted_at","parent_task_id") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11);

-- name: CreateInBatches (gorm) tenant: $1 $6
INSERT INTO "v1_task_event" ("tenant_id","id","task_id","event_type","data") VALUES ($1,$2,$3,$4,$5),($6,$7,$8,$9,$10);

-- name: Save (gorm) tenant: $1 $12
UPDATE "v1_task" SET "tenant_id"=$1,"workflow_id"=$2,"external_id"=$3,"status"=$4,"priority"=$5,"input"=$6,"inserted_at"=$7,"updated_at"=$8,"deleted_at"=$9,"parent_task_id"=$10 WHERE "v1_task"."deleted_at" IS NULL AND "id" = $11 AND tenant_id = $12;

-- name: Updates (gorm) tenant: $3
UPDATE "v1_task" SET "status"=$1,"updated_at"=$2 WHERE tenant_id = $3 AND "v1_task"."id" = $4 AND "v1_task"."deleted_at" IS NULL;

-- name: SoftDelete (gorm) tenant: $2
UPDATE "v1_task" SET "deleted_at"=$1 WHERE tenant_id = $2 AND "v1_task"."id" = $3 AND "v1_task"."deleted_at" IS NULL;

-- name: Unscoped Delete (gorm) tenant: $1
DELETE FROM "v1_task" WHERE tenant_id = $1 AND "v1_task"."id" IN ($2,$3);

-- name: Preload (gorm) tenant: $1
SELECT * FROM "v1_task_event" WHERE tenant_id = $1 AND "v1_task_event"."task_id" IN ($2,$3,$4);

-- name: Joins (gorm) tenant: $1 $2
SELECT "v1_task"."id","v1_task"."status","Lookup"."external_id" AS "Lookup__external_id" FROM "v1_task" LEFT JOIN "v1_lookup" "Lookup" ON "v1_task"."id" = "Lookup"."task_id" AND "Lookup".tenant_id = $1 WHERE v1_task.tenant_id = $2;

-- name: Upsert (gorm) tenant: $1
INSERT INTO "v1_lookup" ("tenant_id","external_id","task_id") VALUES ($1,$2,$3) ON CONFLICT ("tenant_id","external_id") DO UPDATE SET "task_id"="excluded"."task_id";

-- name: Count (gorm) tenant: $1
SELECT count(*) FROM "Workflow" WHERE "tenantId" = $1 AND "Workflow"."deletedAt" IS NULL;

-- name: Pluck (gorm) tenant: $1
SELECT "name" FROM "Workflow" WHERE "tenantId" = $1 AND name LIKE $2;

-- name: Association (gorm) tenant: $1 $2
SELECT "TenantMember"."tenantId","TenantMember"."userId","TenantMember"."role" FROM "TenantMember" JOIN "Tenant" ON "Tenant"."id" = "TenantMember"."tenantId" AND "Tenant"."id" = $1 WHERE "TenantMember"."tenantId" = $2;
