-- The table of tenantsql's sqlc test; the test creates it (and its
-- policies) itself.
CREATE TABLE patients (
    clinic_id uuid NOT NULL,
    id uuid NOT NULL,
    name text NOT NULL,
    PRIMARY KEY (clinic_id, id)
);
