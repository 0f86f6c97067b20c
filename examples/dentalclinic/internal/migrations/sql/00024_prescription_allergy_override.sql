-- +goose Up
-- A prescription written although the drug's class matches one of the
-- patient's recorded allergies carries the dentist's reason
-- (store.CreatePrescription); the clinic's audit log records that an
-- override happened, never the reason's words.
ALTER TABLE prescriptions ADD COLUMN allergy_override text
    CHECK (allergy_override IS NULL OR length(allergy_override) BETWEEN 1 AND 500);

-- +goose Down
ALTER TABLE prescriptions DROP COLUMN allergy_override;
