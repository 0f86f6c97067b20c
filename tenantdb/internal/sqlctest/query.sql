-- name: RenamePatient :exec
update patients set name = $3 where clinic_id = $1 and id = $2;

-- name: Patient :one
select id, name from patients where clinic_id = $1 and id = $2;

-- name: Patients :many
select id, name from patients where clinic_id = $1 order by name;

-- name: DeletePatients :batchexec
delete from patients where clinic_id = $1 and id = $2;

-- name: PatientsByID :batchone
select id, name from patients where clinic_id = $1 and id = $2;

-- name: PatientsNamed :batchmany
select id, name from patients where clinic_id = $1 and name = $2;

-- name: CreatePatients :copyfrom
insert into patients (clinic_id, id, name) values ($1, $2, $3);
