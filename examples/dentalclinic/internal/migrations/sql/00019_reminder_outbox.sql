-- +goose Up
-- Appointment reminders, written by the reminder job (store.SendReminder)
-- in the clinic's context: the outbox a sender would read. One row per
-- appointment and start time, so a job that runs twice (a retry, a worker
-- killed after its commit) writes one row, and a rescheduled appointment
-- gets a reminder for its new time.
CREATE TABLE reminder_outbox (
    clinic_id      uuid NOT NULL REFERENCES clinics (id),
    appointment_id uuid NOT NULL,
    starts_at      timestamptz NOT NULL,
    patient_id     uuid NOT NULL,
    channel        text NOT NULL DEFAULT 'log' CHECK (channel IN ('log')),
    body           text NOT NULL CHECK (length(body) BETWEEN 1 AND 500),
    job_id         bigint NOT NULL,
    written_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (clinic_id, appointment_id, starts_at),
    FOREIGN KEY (clinic_id, appointment_id) REFERENCES appointments (clinic_id, id),
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id)
);
CREATE INDEX reminder_outbox_written ON reminder_outbox (clinic_id, written_at, appointment_id);

-- +goose Down
DROP TABLE reminder_outbox;
