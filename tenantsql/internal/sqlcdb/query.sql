-- name: ListPatients :many
SELECT id, name FROM patients WHERE clinic_id = $1 ORDER BY name;

-- name: GetPatient :one
SELECT id, name FROM patients WHERE clinic_id = $1 AND id = $2;

-- name: CreatePatient :exec
INSERT INTO patients (clinic_id, id, name) VALUES ($1, $2, $3);

-- name: RenamePatient :execrows
UPDATE patients SET name = $3 WHERE clinic_id = $1 AND id = $2;

-- name: ListEveryPatient :many
SELECT id, name FROM patients ORDER BY name;
