-- +goose Up
-- A staff booking (or move) outside the clinic's opening hours, or on a
-- closure day, carries the reason it was allowed (store.CreateAppointment,
-- store.UpdateAppointment); a cancelled appointment carries why it was
-- cancelled. The clinic's audit log records that an override happened,
-- never the reason's words.
ALTER TABLE appointments
    ADD COLUMN hours_override text
        CHECK (hours_override IS NULL OR length(hours_override) BETWEEN 1 AND 500),
    ADD COLUMN cancel_reason text
        CHECK (cancel_reason IS NULL OR length(cancel_reason) BETWEEN 1 AND 500);

-- +goose Down
ALTER TABLE appointments DROP COLUMN cancel_reason, DROP COLUMN hours_override;
