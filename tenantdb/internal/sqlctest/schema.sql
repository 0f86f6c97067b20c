-- The tables of tenantdb's test schema (helpers_test.go) that the queries
-- use; row-level security is added by the test's model.
create table public.patients (
	clinic_id uuid not null,
	id uuid not null,
	name text not null,
	primary key (clinic_id, id)
);
