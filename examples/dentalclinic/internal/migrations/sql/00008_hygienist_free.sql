-- +goose Up
-- A hygienist, like a chair and a patient, is in one place at a time.
ALTER TABLE appointments ADD CONSTRAINT appointments_hygienist_free EXCLUDE USING gist (
    clinic_id WITH =, hygienist_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&
) WHERE (hygienist_id IS NOT NULL AND status NOT IN ('cancelled', 'no_show'));

-- +goose Down
ALTER TABLE appointments DROP CONSTRAINT appointments_hygienist_free;
