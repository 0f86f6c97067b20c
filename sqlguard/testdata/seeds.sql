# Seed statements for FuzzGuard and FuzzGuardDifferential, one per line.
# Lines starting with # are comments of this file (SQL comments are seeds).
# Parameters: $1 is tenant A, $2 is tenant B, $3 is the text 'x'.
# Schema (see differential_test.go): patients, appointments, clinic.invoices
# and "Notes" are tenant tables; clinics is a global registry.
select * from patients where clinic_id = $1
select * from patients where clinic_id = $2
select * from patients where $1 = clinic_id and name <> $3
SELECT * FROM PUBLIC.PATIENTS P WHERE P.CLINIC_ID = $1
select * from only public.patients as p where p.clinic_id = $1::uuid
select * from patients where clinic_id = tenancy.current_tenant_id()
select * from patients where clinic_id = (select tenancy.current_tenant_id())
select * from patients where clinic_id = current_tenant_id()
select * from patients /* where clinic_id = $1 */
select * from patients -- where clinic_id = $1
select * from patients where clinic_id = $1 or name = $3
select * from patients where (clinic_id = $1 or clinic_id = $1)
select * from patients where not (clinic_id <> $1)
select * from patients where clinic_id = $1 and (name = $3 or true)
select * from patients p, appointments a where p.clinic_id = $1 and a.clinic_id = p.clinic_id and a.patient_id = p.id
select * from patients p join appointments a on a.clinic_id = p.clinic_id and a.patient_id = p.id where p.clinic_id = $1
select * from patients p join appointments a on a.patient_id = p.id where p.clinic_id = $1
select * from patients p left join appointments a on a.clinic_id = p.clinic_id and a.patient_id = p.id where p.clinic_id = $1
select * from patients p left join appointments a on p.clinic_id = $1 and a.clinic_id = p.clinic_id
select * from patients p right join appointments a on a.clinic_id = p.clinic_id where a.clinic_id = $1
select * from patients p full join appointments a on a.clinic_id = p.clinic_id and p.clinic_id = $1 and a.clinic_id = $1
select * from patients p full join appointments a on a.clinic_id = p.clinic_id where p.clinic_id = $1 and a.clinic_id = $1
select * from patients p left join appointments a on a.clinic_id = $1 where p.clinic_id = $1
select * from patients p join appointments a using (clinic_id) where p.clinic_id = $1
select * from patients natural join appointments where clinic_id = $1
select * from patients p cross join clinics c where p.clinic_id = $1 and c.id = p.clinic_id
select c.name, count(*) from clinics c join patients p on p.clinic_id = c.id group by c.name
select c.name from clinics c where exists (select 1 from patients p where p.clinic_id = c.id and p.clinic_id = $1)
select id, name from patients where clinic_id = $1 union select id, name from patients where clinic_id = $1
select id, name from patients where clinic_id = $1 union all select id, name from patients
select id from patients where clinic_id = $1 intersect select patient_id from appointments where clinic_id = $1
select id from patients where clinic_id = $1 except select patient_id from appointments
with p as (select * from patients where clinic_id = $1) select * from p
with p as (select * from patients) select * from p where clinic_id = $1
with recursive r(n) as (select 1 union all select n + 1 from r where n < 3) select * from r, patients p where p.clinic_id = $1
with patients as (select * from public.patients where clinic_id = $1) select * from patients where clinic_id = $1
with d as (delete from appointments where clinic_id = $1 returning *) select * from d
with d as (delete from appointments returning *) select count(*) from d
with u as (update patients set name = $3 where clinic_id = $1 returning id) select * from u
select name, (select count(*) from appointments a where a.clinic_id = p.clinic_id and a.patient_id = p.id) from patients p where p.clinic_id = $1
select name, (select count(*) from appointments a where a.patient_id = p.id) from patients p where p.clinic_id = $1
select (select name from patients limit 1)
select (select name from patients where clinic_id = $1 limit 1)
select * from patients p where p.clinic_id = $1 and p.id in (select patient_id from appointments)
select * from patients p where p.clinic_id = $1 and p.id in (select patient_id from appointments where clinic_id = $1)
select * from patients p, lateral (select * from appointments a where a.clinic_id = p.clinic_id and a.patient_id = p.id) x where p.clinic_id = $1
select * from patients p, lateral (select * from appointments a where a.patient_id = p.id) x where p.clinic_id = $1
select * from patients p left join lateral (select * from appointments a where a.clinic_id = $1) x on true where p.clinic_id = $1
select * from (select * from patients where clinic_id = $1) s
select * from (select * from patients) s where s.clinic_id = $1
select count(*) from patients where clinic_id = $1 having count(*) > 0
select clinic_id, count(*) from patients group by clinic_id having clinic_id = $1
select * from patients where clinic_id = $1 order by (select max(note) from appointments)
select * from patients p where p.clinic_id = $1 and p.id = any (select patient_id from appointments a where a.clinic_id = p.clinic_id)
select * from clinic.invoices i where i.clinic_id = $1
select * from clinic.invoices i join patients p on p.clinic_id = i.clinic_id and p.id = i.patient_id where i.clinic_id = $1
select * from invoices
select * from "Notes" where clinic_id = $1
select * from "Notes"
select * from notes
select * from patients as p(a, b, c) where p.clinic_id = $1
select * from patients tablesample system (100) where clinic_id = $1
select * from clinics
select 1
values (1), (2)
select * from patients where clinic_id = $1 for update
select * from (patients p join appointments a on a.clinic_id = p.clinic_id) j where p.clinic_id = $1
select * from (patients p join appointments a on a.clinic_id = p.clinic_id and p.clinic_id = $1) j
select * from patients where clinic_id in ($1)
select * from patients where clinic_id = any (array[$1::uuid])
select * from patients where clinic_id is not distinct from $1
select * from patients where clinic_id = $1 and clinic_id = $2
select * from patients where clinic_id = $2 and clinic_id = $1
insert into patients (clinic_id, id, name) values ($1, '0190a8c0-0000-7000-8000-0000000a0099', $3)
insert into patients (clinic_id, id, name) values ($1, '0190a8c0-0000-7000-8000-0000000a0099', $3) returning *
insert into patients (clinic_id, id, name) values ($2, '0190a8c0-0000-7000-8000-0000000a0099', $3)
insert into patients (clinic_id, id, name) values (tenancy.current_tenant_id(), '0190a8c0-0000-7000-8000-0000000a0099', $3)
insert into patients (id, name) values ('0190a8c0-0000-7000-8000-0000000a0099', $3)
insert into patients values ($1, '0190a8c0-0000-7000-8000-0000000a0099', $3)
insert into patients (clinic_id, id, name) select clinic_id, gen_random_uuid(), name from patients where clinic_id = $1
insert into patients (clinic_id, id, name) select $1, gen_random_uuid(), name from patients
insert into patients (clinic_id, id, name) select clinic_id, gen_random_uuid(), name || 'x' from patients
insert into patients (clinic_id, id, name) values ($1, '0190a8c0-0000-7000-8000-0000000a0001', $3) on conflict (clinic_id, id) do update set name = excluded.name
insert into patients (clinic_id, id, name) values ($1, '0190a8c0-0000-7000-8000-0000000a0001', $3) on conflict (id, clinic_id) do nothing
insert into patients (clinic_id, id, name) values ($1, '0190a8c0-0000-7000-8000-0000000a0001', $3) on conflict (clinic_id, id) do update set clinic_id = excluded.clinic_id
insert into clinics (id, name) select clinic_id, name from patients where clinic_id = $1 on conflict do nothing
update patients set name = $3 where clinic_id = $1
update patients set name = $3 where clinic_id = $1 returning *
update patients set name = $3
update patients set name = $3 where clinic_id = $1 or true
update patients set clinic_id = $1 where clinic_id = $1
update patients p set name = a.note from appointments a where p.clinic_id = $1 and a.clinic_id = p.clinic_id and a.patient_id = p.id
update patients p set name = a.note from appointments a where p.clinic_id = $1 and a.patient_id = p.id
update appointments set note = (select name from patients p where p.clinic_id = appointments.clinic_id and p.id = appointments.patient_id) where clinic_id = $1
update appointments set note = (select name from patients p where p.id = appointments.patient_id) where clinic_id = $1
delete from appointments where clinic_id = $1
delete from appointments where clinic_id = $1 returning *
delete from appointments
delete from appointments a using patients p where a.clinic_id = $1 and p.clinic_id = a.clinic_id and p.id = a.patient_id
delete from appointments a using patients p where a.clinic_id = $1 and p.id = a.patient_id
delete from appointments where clinic_id = $1 and patient_id in (select id from patients where clinic_id = $1)
select set_config('tenancy.tenant_id', $2, true)
select set_config('tenancy.tenant_id', $2, false)
select * from patients where clinic_id = $1 and set_config('tenancy.tenant_id', $2, true) is not null
set tenancy.tenant_id = 'x'
set local tenancy.tenant_id = 'x'
set local statement_timeout = '1s'
set role postgres
reset all
reset role
truncate patients
copy patients to stdout
create table x (id int)
drop table patients
grant select on patients to public
select * from patients where clinic_id = $1; select 1
select 1; select 2
explain select * from patients where clinic_id = $1
do $$ begin perform 1; end $$
lock table patients
select * into y from patients where clinic_id = $1
select query_to_xml('select * from patients', true, false, '')
savepoint s1
# Adversarial shapes.
select * from patients p where p.clinic_id = $1 and exists (select 1 from patients p2 join appointments p on p.clinic_id = $1)
select * from patients p, lateral (select * from appointments p where p.clinic_id = p.clinic_id) x where p.clinic_id = $1
select * from appointments a where a.clinic_id = (select p.clinic_id from patients p where p.clinic_id = $1)
select x.* from patients p left join appointments x on x.clinic_id = p.clinic_id where p.clinic_id = $1
select * from patients p full join appointments a on a.clinic_id = p.clinic_id where a.clinic_id = $1
select * from clinics c left join patients p on p.clinic_id = c.id where c.id = $1
select * from clinics c left join patients p on p.clinic_id = $1 and p.clinic_id = c.id
select * from clinics c left join (patients p join appointments a on a.clinic_id = p.clinic_id and p.clinic_id = $1) on c.id = p.clinic_id
select * from patients p join appointments a on a.clinic_id = p.clinic_id join clinic.invoices i on i.clinic_id = a.clinic_id where p.clinic_id = $1
select * from patients p where p.clinic_id = $1 union select * from patients q where q.clinic_id = p.clinic_id
select (select p.name from patients p where p.clinic_id = c.id limit 1) from clinics c
select * from appointments a join patients p on p.clinic_id = a.clinic_id and a.clinic_id = $1
select * from patients where clinic_id = $1 and clinic_id = clinic_id
select * from patients p1, patients p2 where p1.clinic_id = p2.clinic_id and p2.clinic_id = p1.clinic_id
select * from patients join appointments on patients.clinic_id = appointments.clinic_id where patients.clinic_id = $1
select * from patients p where p.clinic_id = $1 and exists (select * from appointments a where a.clinic_id = p.clinic_id and exists (select 1 from clinic.invoices i where i.clinic_id = a.clinic_id))
select * from patients p where p.clinic_id = $1 and exists (select 1 from (select * from appointments a where a.clinic_id = p.clinic_id) s)
select * from (select * from patients where clinic_id = $1) patients join appointments a on a.clinic_id = patients.clinic_id
update patients set name = 'x' from patients p2 where patients.clinic_id = $1 and p2.clinic_id = patients.clinic_id
delete from patients using appointments patients where patients.clinic_id = $1
select * from patients p natural join appointments a where p.clinic_id = $1 and a.clinic_id = $1
select * from (patients p join appointments a using (clinic_id)) j where p.clinic_id = $1
select * from patients p right join appointments a on a.clinic_id = p.clinic_id where p.clinic_id = $1
select * from patients p where p.clinic_id = $1 and p.name = (select name from patients where clinic_id = p.clinic_id and id <> p.id limit 1)
insert into patients as p (clinic_id, id, name) values ($1, '0190a8c0-0000-7000-8000-0000000a0001', $3) on conflict (id, clinic_id) do update set name = excluded.name where p.clinic_id = $1
insert into appointments (clinic_id, id, patient_id) select p.clinic_id, gen_random_uuid(), p.id from patients p where p.clinic_id = $1
insert into appointments (clinic_id, id, patient_id) select a.clinic_id, gen_random_uuid(), p.id from patients p left join appointments a on a.clinic_id = p.clinic_id where p.clinic_id = $1
with x as (select p.clinic_id, p.id from patients p where p.clinic_id = $1) insert into appointments (clinic_id, id, patient_id) select x.clinic_id, gen_random_uuid(), x.id from x
select count(*), max(name) from patients where clinic_id = $1 group by rollup (name)
select name, row_number() over (partition by (select count(*) from appointments)) from patients where clinic_id = $1
select * from patients where clinic_id = $1 and id = any (array(select patient_id from appointments where clinic_id = $1))
select * from patients where clinic_id = $1::uuid and name = $3::text
# uptrace/bun writes arguments into the text: a literal of tenant A scopes
# (in either case, optionally cast to uuid); B's, or a malformed one, is refused.
SELECT "p"."clinic_id", "p"."id", "p"."name" FROM "patients" AS "p" WHERE (p.clinic_id = '0190a8c0-0000-7000-8000-00000000000a')
SELECT "p"."id" FROM "patients" AS "p" WHERE (p.clinic_id = '0190a8c0-0000-7000-8000-00000000000b')
SELECT count(*) FROM "patients" AS "p" WHERE ("p"."clinic_id" = '0190A8C0-0000-7000-8000-00000000000A')
SELECT "p"."name", "a"."note" FROM "patients" AS "p" JOIN "appointments" AS "a" ON ("a"."clinic_id" = "p"."clinic_id") AND ("a"."patient_id" = "p"."id") WHERE (p.clinic_id = '0190a8c0-0000-7000-8000-00000000000a')
select * from patients p left join appointments a on a.clinic_id = '0190a8c0-0000-7000-8000-00000000000a'::uuid and a.patient_id = p.id where p.clinic_id = CAST('0190a8c0-0000-7000-8000-00000000000a' AS uuid)
select * from patients p join appointments a on a.clinic_id = '0190a8c0-0000-7000-8000-00000000000a' and a.patient_id = p.id where p.clinic_id = uuid '0190a8c0-0000-7000-8000-00000000000a'
select * from patients where clinic_id = $1 and clinic_id = '0190a8c0-0000-7000-8000-00000000000b'
select * from patients where clinic_id = 'not-a-uuid'
select * from patients where clinic_id = '0190a8c0-0000-7000-8000-00000000000a'::text
select * from patients where clinic_id = '0190a8c0-0000-7000-8000-00000000000a' or name = $3
select * from patients p where p.clinic_id = '0190a8c0-0000-7000-8000-00000000000a' and exists (select 1 from appointments a where a.clinic_id = p.clinic_id and a.patient_id = p.id)
INSERT INTO "patients" AS "p" ("clinic_id", "id", "name") VALUES ('0190a8c0-0000-7000-8000-00000000000a', '0190a8c0-0000-7000-8000-0000000a0009', 'bun') RETURNING "p"."id"
INSERT INTO "patients" AS "p" ("clinic_id", "id", "name") VALUES ('0190a8c0-0000-7000-8000-00000000000a', '0190a8c0-0000-7000-8000-0000000a0009', 'x'), ('0190a8c0-0000-7000-8000-00000000000a', '0190a8c0-0000-7000-8000-0000000a0010', 'y')
INSERT INTO "patients" AS "p" ("clinic_id", "id", "name") VALUES ('0190a8c0-0000-7000-8000-00000000000a', '0190a8c0-0000-7000-8000-0000000a0009', 'x'), ('0190a8c0-0000-7000-8000-00000000000b', '0190a8c0-0000-7000-8000-0000000a0010', 'y')
INSERT INTO "patients" AS "p" ("clinic_id", "id", "name") VALUES ('0190a8c0-0000-7000-8000-00000000000a', '0190a8c0-0000-7000-8000-0000000a0001', 'x') ON CONFLICT ("clinic_id", "id") DO UPDATE SET "name" = EXCLUDED."name"
INSERT INTO "patients" AS "p" ("clinic_id", "id", "name") VALUES ('0190a8c0-0000-7000-8000-00000000000a', '0190a8c0-0000-7000-8000-0000000b0001', 'x') ON CONFLICT ("clinic_id", "id") DO UPDATE SET "name" = EXCLUDED."name" WHERE (p.clinic_id = '0190a8c0-0000-7000-8000-00000000000a')
insert into clinic.invoices (clinic_id, id, amount) select '0190a8c0-0000-7000-8000-00000000000a', gen_random_uuid(), amount from clinic.invoices where clinic_id = '0190a8c0-0000-7000-8000-00000000000a'
UPDATE "patients" AS "p" SET "name" = 'bun' WHERE (clinic_id = '0190a8c0-0000-7000-8000-00000000000a') AND ("p"."name" = 'patient1-a')
UPDATE "patients" AS "p" SET "name" = 'bun' WHERE (clinic_id = '0190a8c0-0000-7000-8000-00000000000b')
update patients p set name = a.note from appointments a where p.clinic_id = '0190a8c0-0000-7000-8000-00000000000a' and a.clinic_id = p.clinic_id and a.patient_id = p.id
DELETE FROM "appointments" AS "a" WHERE (a.clinic_id = '0190a8c0-0000-7000-8000-00000000000a') RETURNING "a"."id"
DELETE FROM "appointments" AS "a" WHERE (a.note = 'note1-a')
DELETE FROM "Notes" AS "n" WHERE ("n"."clinic_id" = '0190a8c0-0000-7000-8000-00000000000a') AND ("n"."id" IN ('0190a8c0-0000-7000-8000-0000000a0301', '0190a8c0-0000-7000-8000-0000000b0301'))
# Tenant columns of their own, and scope reached through CTEs, sub-selects, IN, rows, arrays.
select title from tasks where "tenantId" = $1
select t.title, a.name from tasks t join attachments a on a.organization_id = t."tenantId" and a.task_id = t.id where t."tenantId" = $1
select name from orgs where id = $1
select o.name, g.tag from orgs o join task_tags g on g.tenant_id = o.id where o.id = $1
with d as (select "tenantId", id from tasks where "tenantId" = $1 and title like $3) delete from tasks where ("tenantId", id) in (select "tenantId", id from d) returning title
with d as (select organization_id, id from attachments where organization_id = $1) update attachments set name = $3 where (organization_id, id) in (select organization_id, id from d)
select name from attachments where organization_id in (select "tenantId" from tasks where "tenantId" = $1)
select name from attachments where organization_id = (select "tenantId" from tasks where "tenantId" = $1 limit 1)
select title from tasks where (id, "tenantId") = (id, $1::uuid)
select title from tasks where ("tenantId", title) in (($1, $3), ($1, 'x'))
select name from patients where clinic_id = any($4)
select name from attachments where organization_id = any($4::uuid[])
update tasks set "tenantId" = "tenantId", title = $3 where "tenantId" = $1
insert into task_tags (tenant_id, id, tag) values ($1, gen_random_uuid(), $3) on conflict (tenant_id, id) do update set tenant_id = excluded.tenant_id, tag = excluded.tag
with recursive tree as (select "tenantId", id from tasks where "tenantId" = $1 union all select t."tenantId", t.id from tasks t join tree on t."tenantId" = tree."tenantId" and t.parent_id = tree.id) select count(*) from tree
select a.name from (select "tenantId", id from tasks where "tenantId" = $1) t join attachments a on a.organization_id = t."tenantId"
with cur as (select $1::uuid as org) select o.name from orgs o join cur on o.id = cur.org
select lower(name), length('select * from patients'), format('%s', $$select title from tasks$$) from patients where clinic_id = $1
