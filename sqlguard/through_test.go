package sqlguard_test

import (
	"testing"

	"github.com/mydentalpractice/tenancy/sqlguard"
)

// TestCheckScopeThrough: scope follows CTEs and sub-selects whose columns
// hold the tenant, IN and row-value comparisons; each accepted shape has
// its near miss, which is refused.
func TestCheckScopeThrough(t *testing.T) {
	runGuardTests(t, newGuard(t, sqlguard.Config{}), []guardTest{
		// A CTE scoped to the tenant, then reached through.
		{name: "cte reached through by in", sql: `with to_delete as (select "tenantId", id from tasks where "tenantId" = $1 and title = $3)
			delete from tasks where ("tenantId", id) in (select "tenantId", id from to_delete)`},
		{name: "cte reached through by in, cte not scoped", sql: `with to_delete as (select "tenantId", id from tasks where title = $3)
			delete from tasks where ("tenantId", id) in (select "tenantId", id from to_delete)`,
			rule: unscoped, table: "tasks", at: "tasks"},
		{name: "cte reached through, its tenant column under or", sql: `with to_delete as (select "tenantId", id from tasks where "tenantId" = $1 or title = $3)
			delete from tasks where ("tenantId", id) in (select "tenantId", id from to_delete)`,
			rule: orBranch, table: "tasks", at: "tasks"},
		{name: "cte reached through by in, without its tenant column", sql: `with to_delete as (select "tenantId", id from tasks where "tenantId" = $1)
			delete from tasks where id in (select id from to_delete)`,
			rule: unscoped, table: "tasks", at: "last:tasks"},
		{name: "cte reached through by in, columns swapped", sql: `with to_delete as (select "tenantId", id from tasks where "tenantId" = $1)
			delete from tasks where ("tenantId", id) in (select id, "tenantId" from to_delete)`,
			rule: unscoped, table: "tasks", at: "last:tasks"},
		{name: "cte reached through by in, another column named like it", sql: `with to_delete as (select id as "tenantId" from tasks where "tenantId" = $1)
			delete from tasks where "tenantId" in (select "tenantId" from to_delete)`,
			rule: unscoped, table: "tasks", at: "last:tasks"},
		{name: "cte with a column alias list", sql: `with d(t, i) as (select "tenantId", id from tasks where "tenantId" = $1)
			update tasks set title = $3 where "tenantId" = (select t from d limit 1) and id in (select i from d)`},
		{name: "cte with a column alias list, wrong name", sql: `with d(t, i) as (select "tenantId", id from tasks where "tenantId" = $1)
			update tasks set title = $3 where "tenantId" = (select i from d limit 1)`,
			rule: unscoped, table: "tasks", at: "last:tasks"},
		{name: "cte of a star, joined", sql: `with x as (select * from attachments where organization_id = $1)
			select a.* from attachments a join x on x.organization_id = a.organization_id and x.id = a.id`},
		{name: "cte of a star, joined on another column", sql: `with x as (select * from attachments where organization_id = $1)
			select a.* from attachments a join x on x.id = a.organization_id`,
			rule: unscoped, table: "attachments", at: "last:attachments"},
		{name: "cte of a parameter", sql: `with cur as (select $1::uuid as org) select * from orgs join cur on orgs.id = cur.org`},
		{name: "cte of a parameter of another tenant", sql: `with cur as (select $2::uuid as org) select * from orgs join cur on orgs.id = cur.org`,
			rule: sqlguard.RuleParamTenant, table: "orgs", at: "$2", param: 2},
		{name: "cte of the helper", sql: `with cur as (select tenancy.current_tenant_id()) select * from orgs, cur where orgs.id = cur.current_tenant_id`},
		{name: "data-modifying cte returning the tenant", sql: `with moved as (delete from tasks where "tenantId" = $1 and id = $3 returning "tenantId", id)
			insert into task_tags (tenant_id, id, tag) select "tenantId", id, 'moved' from moved`},
		{name: "data-modifying cte returning another column", sql: `with moved as (delete from tasks where "tenantId" = $1 and id = $3 returning id, id as "tenantId")
			insert into task_tags (tenant_id, id, tag) select "tenantId", id, 'moved' from moved`,
			rule: sqlguard.RuleInsertTenant, table: "task_tags", at: "task_tags"},
		{name: "recursive cte", sql: `with recursive tree as (
				select "tenantId", id from tasks where "tenantId" = $1 and id = $3
				union all select t."tenantId", t.id from tasks t join tree on t."tenantId" = tree."tenantId" and t.parent_id = tree.id)
			select * from tree`},
		{name: "recursive cte, recursive arm joined by id only", sql: `with recursive tree as (
				select "tenantId", id from tasks where "tenantId" = $1 and id = $3
				union all select t."tenantId", t.id from tasks t join tree on t.parent_id = tree.id)
			select * from tree`,
			rule: unscoped, table: "tasks", at: "tasks t"},
		{name: "union of a scoped and an unscoped arm", sql: `with x as (select "tenantId" from tasks where "tenantId" = $1 union select id from plans)
			select * from tasks where "tenantId" in (select "tenantId" from x)`,
			rule: unscoped, table: "tasks", at: "last:tasks"},

		// IN (SELECT ... FROM <scoped>).
		{name: "in a scoped sub-select", sql: `select * from attachments where organization_id in (select "tenantId" from tasks where "tenantId" = $1)`},
		{name: "in an unscoped sub-select", sql: `select * from attachments where organization_id in (select "tenantId" from tasks)`,
			rule: unscoped, table: "attachments", at: "attachments"},
		{name: "in a sub-select of another column", sql: `select * from attachments where organization_id in (select id from tasks where "tenantId" = $1)`,
			rule: unscoped, table: "attachments", at: "attachments"},
		{name: "= any of a scoped sub-select", sql: `select * from attachments where organization_id = any (select "tenantId" from tasks where "tenantId" = $1)`},
		{name: "not in a scoped sub-select", sql: `select * from attachments where organization_id not in (select "tenantId" from tasks where "tenantId" = $1)`,
			rule: orBranch, table: "attachments", at: "attachments"},
		{name: "<> any of a scoped sub-select", sql: `select * from attachments where organization_id <> any (select "tenantId" from tasks where "tenantId" = $1)`,
			rule: unscoped, table: "attachments", at: "attachments"},
		{name: "in a sub-select correlated to itself", sql: `select * from attachments a where organization_id in (select t."tenantId" from tasks t where t."tenantId" = a.organization_id)`,
			rule: unscoped, table: "attachments", at: "attachments"},
		{name: "in a sub-select under or", sql: `select * from attachments where organization_id in (select "tenantId" from tasks where "tenantId" = $1) or true`,
			rule: orBranch, table: "attachments", at: "attachments"},
		{name: "= a scoped scalar sub-select", sql: `select * from attachments where organization_id = (select "tenantId" from tasks where "tenantId" = $1 and id = $3)`},
		{name: "= a scalar sub-select of another tenant", sql: `select * from attachments where organization_id = (select "tenantId" from tasks where "tenantId" = $2 and id = $3)`,
			rule: sqlguard.RuleParamTenant, table: "tasks", at: "$2", param: 2},
		{name: "sub-select in from scopes a join", sql: `select a.* from (select "tenantId", id from tasks where "tenantId" = $1) t join attachments a on a.organization_id = t."tenantId" and a.task_id = t.id`},
		{name: "lateral sub-select does not scope a join", sql: `select a.* from attachments a, lateral (select "tenantId" from tasks where "tenantId" = $1) t where a.organization_id = t."tenantId"`,
			rule: unscoped, table: "attachments", at: "attachments"},

		// Row values.
		{name: "row equality", sql: `select * from tasks where (id, title, "tenantId") = ($3, $3, $1::uuid)`},
		{name: "row equality, another tenant", sql: `select * from tasks where (id, title, "tenantId") = ($3, $3, $2::uuid)`,
			rule: sqlguard.RuleParamTenant, table: "tasks", at: "$2", param: 2},
		{name: "row equality, positions differ", sql: `select * from tasks where (id, "tenantId") = ($1, $3)`,
			rule: sqlguard.RuleParamTenant, table: "tasks", at: "$3", param: 3},
		{name: "row equality with a column", sql: `select * from tasks where (id, "tenantId") = ($3, parent_id)`,
			rule: unscoped, table: "tasks", at: "tasks"},
		{name: "row equality under or", sql: `select * from tasks where (id, "tenantId") = ($3, $1) or title = $3`,
			rule: orBranch, table: "tasks", at: "tasks"},
		{name: "row inequality", sql: `select * from tasks where (id, "tenantId") <> ($3, $2)`,
			rule: unscoped, table: "tasks", at: "tasks"},
		{name: "row of rows", sql: `select * from tasks where ((id, title), "tenantId") = (($3, $3), $1)`},
		{name: "row in a list", sql: `select * from tasks where ("tenantId", id) in (($1, $3), ($1, $3))`},
		{name: "row in a list, one of another tenant", sql: `select * from tasks where ("tenantId", id) in (($1, $3), ($2, $3))`,
			rule: sqlguard.RuleParamTenant, table: "tasks", at: "$2", param: 2},
		{name: "row in a list, one without the tenant", sql: `select * from tasks where ("tenantId", id) in (($1, $3), (id, $3))`,
			rule: unscoped, table: "tasks", at: "tasks"},
		{name: "row = a scoped sub-select", sql: `select * from attachments where (organization_id, task_id) = (select "tenantId", id from tasks where "tenantId" = $1 limit 1)`},

		// Assignments that keep the tenant.
		{name: "set the tenant column to itself", sql: `update tasks set "tenantId" = "tenantId", title = $3 where "tenantId" = $1`},
		{name: "set it to another column", sql: `update tasks set "tenantId" = parent_id where "tenantId" = $1`,
			rule: sqlguard.RuleAssignTenant, table: "tasks", at: `"tenantId" = parent_id`},
		{name: "set it to itself, unscoped", sql: `update tasks set "tenantId" = "tenantId"`,
			rule: unscoped, table: "tasks", at: "tasks"},
		{name: "set it from a scoped cte", sql: `with cur as (select id from orgs where id = $1) update tasks set "tenantId" = cur.id from cur where tasks."tenantId" = cur.id`},
		{name: "set it from another table's tenant column", sql: `update tasks t set "tenantId" = a.organization_id from attachments a where t."tenantId" = $1 and a.organization_id = $2`,
			rule: sqlguard.RuleParamTenant, table: "attachments", at: "$2", param: 2},
		{name: "upsert keeps excluded tenant", sql: `insert into tasks ("tenantId", id, title) values ($1, $3, $3) on conflict ("tenantId", id) do update set "tenantId" = excluded."tenantId", title = excluded.title`},
		{name: "upsert keeps excluded tenant, conflict on id only", sql: `insert into tasks ("tenantId", id, title) values ($1, $3, $3) on conflict (id) do update set "tenantId" = excluded."tenantId"`,
			rule: sqlguard.RuleOnConflict, table: "tasks", at: "on conflict"},
		{name: "upsert on id scoped by where", sql: `insert into tasks as t ("tenantId", id, title) values ($1, $3, $3) on conflict (id) do update set "tenantId" = excluded."tenantId", title = excluded.title where t."tenantId" = excluded."tenantId"`},
		{name: "upsert with an unchecked tenant", sql: `insert into tasks as t ("tenantId", id, title) values ($2, $3, $3) on conflict (id) do update set title = excluded.title where t."tenantId" = excluded."tenantId"`,
			rule: sqlguard.RuleParamTenant, table: "tasks", at: "$2", param: 2},
		{name: "upsert sets excluded's other column", sql: `insert into tasks ("tenantId", id, title) values ($1, $3, $3) on conflict ("tenantId", id) do update set "tenantId" = excluded.parent_id`,
			rule: sqlguard.RuleAssignTenant, table: "tasks", at: `"tenantId" = excluded`},
	})
}
