-- The tracker's own tables, made before the isolation that the model
-- generates (model.Generate) is applied to them.
--
-- The tenant column leads every key, and foreign keys match org to org, so
-- that neither a unique violation nor a foreign key check can tell one
-- organization about another's rows. Record ids are random 16-digit bigints
-- rather than a sequence, which would tell every organization how many rows
-- the others make (rls.Check warns of it: sequence-default). The API sends
-- them, and org_id, as JSON strings, as tokens carry keys: a JavaScript
-- number cannot hold every bigint.
create table if not exists orgs (
	id   bigint primary key,
	name text not null
);
create table if not exists users (
	org_id bigint not null references orgs (id),
	id     bigint not null default 1000000000000000 + (random() * 8e15)::bigint,
	name   text not null,
	primary key (org_id, id)
);
create table if not exists projects (
	org_id bigint not null references orgs (id),
	id     bigint not null default 1000000000000000 + (random() * 8e15)::bigint,
	name   text not null,
	primary key (org_id, id)
);
create table if not exists tasks (
	org_id      bigint not null,
	id          bigint not null default 1000000000000000 + (random() * 8e15)::bigint,
	project_id  bigint not null,
	title       text not null,
	assignee_id bigint,
	primary key (org_id, id),
	foreign key (org_id, project_id) references projects (org_id, id),
	foreign key (org_id, assignee_id) references users (org_id, id)
);
create index if not exists tasks_project on tasks (org_id, project_id);
create index if not exists tasks_assignee on tasks (org_id, assignee_id);
insert into orgs (id, name) values (1, 'Acme'), (2, 'Globex') on conflict (id) do nothing;
