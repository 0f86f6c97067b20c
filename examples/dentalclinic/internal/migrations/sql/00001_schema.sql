-- +goose Up
-- The domain of MyDentalPractice. Every tenant-owned table carries clinic_id,
-- leads its primary key, unique constraints, foreign keys and indexes with it
-- (docs/architecture.md, "Database conventions"); row-level security comes
-- from package rls in the next migration. Ids are UUIDv7 made by the app.

CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Registry: the clinics themselves. Readable by the app role, written by the
-- platform role.
CREATE TABLE clinics (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    time_zone   text NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 64),
    currency    char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE clinic_settings (
    clinic_id      uuid PRIMARY KEY REFERENCES clinics (id),
    -- {"mon": [["08:00","17:00"]], ...}: local wall-clock times in the clinic's zone
    opening_hours  jsonb NOT NULL DEFAULT '{}',
    -- [{"date": "2026-12-25", "reason": "Christmas"}]
    closures       jsonb NOT NULL DEFAULT '[]',
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE operatories (
    clinic_id  uuid NOT NULL REFERENCES clinics (id),
    id         uuid NOT NULL,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    hidden     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (clinic_id, id),
    UNIQUE (clinic_id, name)
);

CREATE TABLE fee_schedule (
    clinic_id    uuid NOT NULL REFERENCES clinics (id),
    code         text NOT NULL CHECK (code ~ '^[A-Za-z0-9._-]{1,20}$'),
    description  text NOT NULL CHECK (length(description) BETWEEN 1 AND 200),
    price_minor  bigint NOT NULL CHECK (price_minor >= 0),
    PRIMARY KEY (clinic_id, code)
);

CREATE TABLE staff (
    clinic_id      uuid NOT NULL REFERENCES clinics (id),
    id             uuid NOT NULL,
    email          text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    roles          text[] NOT NULL CHECK (roles <@ ARRAY['owner','dentist','hygienist','front_desk','billing'] AND cardinality(roles) > 0),
    password_hash  text NOT NULL,
    disabled       boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (clinic_id, id),
    UNIQUE (clinic_id, email)
);

CREATE TABLE patients (
    clinic_id           uuid NOT NULL REFERENCES clinics (id),
    id                  uuid NOT NULL,
    given_name          text NOT NULL CHECK (length(given_name) BETWEEN 1 AND 100),
    family_name         text NOT NULL CHECK (length(family_name) BETWEEN 1 AND 100),
    date_of_birth       date,
    sex                 text NOT NULL DEFAULT 'unknown' CHECK (sex IN ('female', 'male', 'other', 'unknown')),
    phone               text NOT NULL DEFAULT '' CHECK (length(phone) <= 40),
    email               text NOT NULL DEFAULT '' CHECK (length(email) <= 254),
    address             text NOT NULL DEFAULT '' CHECK (length(address) <= 500),
    status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'archived')),
    medical_alerts      text[] NOT NULL DEFAULT '{}',
    allergies           text[] NOT NULL DEFAULT '{}',
    primary_dentist_id  uuid,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (clinic_id, id),
    FOREIGN KEY (clinic_id, primary_dentist_id) REFERENCES staff (clinic_id, id)
);
CREATE INDEX patients_name ON patients (clinic_id, lower(family_name) text_pattern_ops, lower(given_name));

CREATE TABLE appointments (
    clinic_id     uuid NOT NULL REFERENCES clinics (id),
    id            uuid NOT NULL,
    patient_id    uuid NOT NULL,
    dentist_id    uuid NOT NULL,
    hygienist_id  uuid,
    operatory_id  uuid NOT NULL,
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL,
    type          text NOT NULL CHECK (length(type) BETWEEN 1 AND 100),
    note          text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    status        text NOT NULL DEFAULT 'scheduled'
                  CHECK (status IN ('scheduled', 'confirmed', 'arrived', 'completed', 'cancelled', 'no_show')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (clinic_id, id),
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id),
    FOREIGN KEY (clinic_id, dentist_id) REFERENCES staff (clinic_id, id),
    FOREIGN KEY (clinic_id, hygienist_id) REFERENCES staff (clinic_id, id),
    FOREIGN KEY (clinic_id, operatory_id) REFERENCES operatories (clinic_id, id),
    CONSTRAINT appointments_duration CHECK (ends_at - starts_at BETWEEN interval '5 minutes' AND interval '8 hours'),
    -- One live appointment per chair at a time; [start, end) so back-to-back is fine.
    CONSTRAINT appointments_chair_free EXCLUDE USING gist (
        clinic_id WITH =, operatory_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&
    ) WHERE (status NOT IN ('cancelled', 'no_show')),
    -- A patient is in one place at a time.
    CONSTRAINT appointments_patient_free EXCLUDE USING gist (
        clinic_id WITH =, patient_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&
    ) WHERE (status NOT IN ('cancelled', 'no_show'))
);
CREATE INDEX appointments_time ON appointments (clinic_id, starts_at);
CREATE INDEX appointments_patient ON appointments (clinic_id, patient_id, starts_at);

-- Human invoice numbers are per clinic, with no gaps from rolled-back work
-- visible to other clinics.
CREATE TABLE invoice_counters (
    clinic_id    uuid PRIMARY KEY REFERENCES clinics (id),
    last_number  integer NOT NULL DEFAULT 0
);

CREATE TABLE invoices (
    clinic_id   uuid NOT NULL REFERENCES clinics (id),
    id          uuid NOT NULL,
    number      integer NOT NULL CHECK (number > 0),
    patient_id  uuid NOT NULL,
    currency    char(3) NOT NULL,
    status      text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'issued', 'void')),
    total_minor bigint NOT NULL DEFAULT 0 CHECK (total_minor >= 0),
    issued_at   timestamptz,
    voided_at   timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (clinic_id, id),
    UNIQUE (clinic_id, number),
    UNIQUE (clinic_id, id, patient_id), -- lets lines and payments carry the patient, checked
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id)
);
CREATE INDEX invoices_patient ON invoices (clinic_id, patient_id);

-- Lines and payments repeat the invoice's patient so that row-level security
-- can limit a portal patient to their own, without a join.
CREATE TABLE invoice_lines (
    clinic_id         uuid NOT NULL,
    invoice_id        uuid NOT NULL,
    patient_id        uuid NOT NULL,
    line_no           integer NOT NULL CHECK (line_no > 0),
    code              text NOT NULL,
    description       text NOT NULL,
    quantity          integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    unit_price_minor  bigint NOT NULL CHECK (unit_price_minor >= 0),
    amount_minor      bigint NOT NULL CHECK (amount_minor = quantity * unit_price_minor),
    PRIMARY KEY (clinic_id, invoice_id, line_no),
    FOREIGN KEY (clinic_id, invoice_id, patient_id) REFERENCES invoices (clinic_id, id, patient_id)
);

CREATE TABLE payments (
    clinic_id     uuid NOT NULL,
    id            uuid NOT NULL,
    invoice_id    uuid NOT NULL,
    patient_id    uuid NOT NULL,
    amount_minor  bigint NOT NULL CHECK (amount_minor > 0),
    method        text NOT NULL CHECK (method IN ('cash', 'card', 'bank_transfer', 'insurance', 'other')),
    received_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (clinic_id, id),
    FOREIGN KEY (clinic_id, invoice_id, patient_id) REFERENCES invoices (clinic_id, id, patient_id)
);
CREATE INDEX payments_invoice ON payments (clinic_id, invoice_id);

CREATE TABLE prescriptions (
    clinic_id      uuid NOT NULL,
    id             uuid NOT NULL,
    patient_id     uuid NOT NULL,
    dentist_id     uuid NOT NULL,
    drug           text NOT NULL CHECK (length(drug) BETWEEN 1 AND 200),
    strength       text NOT NULL CHECK (length(strength) BETWEEN 1 AND 100),
    form           text NOT NULL CHECK (length(form) BETWEEN 1 AND 100),
    directions     text NOT NULL CHECK (length(directions) BETWEEN 1 AND 1000),
    quantity       integer NOT NULL CHECK (quantity BETWEEN 1 AND 10000),
    refills        integer NOT NULL DEFAULT 0 CHECK (refills BETWEEN 0 AND 12),
    prescribed_on  date NOT NULL,
    notes          text NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
    voided_at      timestamptz,
    void_reason    text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (clinic_id, id),
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id),
    FOREIGN KEY (clinic_id, dentist_id) REFERENCES staff (clinic_id, id)
);
CREATE INDEX prescriptions_patient ON prescriptions (clinic_id, patient_id);

-- Patient portal: one account per patient record per clinic.
CREATE TABLE portal_accounts (
    clinic_id      uuid NOT NULL,
    id             uuid NOT NULL,
    patient_id     uuid NOT NULL,
    email          text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    password_hash  text NOT NULL,
    disabled       boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (clinic_id, id),
    UNIQUE (clinic_id, email),
    UNIQUE (clinic_id, patient_id),
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id)
);

CREATE TABLE portal_invites (
    clinic_id   uuid NOT NULL,
    code_hash   text NOT NULL, -- sha256 of the code; the code itself is shown once
    patient_id  uuid NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    PRIMARY KEY (clinic_id, code_hash),
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id)
);

-- Platform operators. Not a tenant table and not readable by the app role:
-- sign-in reads it through a SECURITY DEFINER function.
CREATE TABLE platform_admins (
    id             uuid PRIMARY KEY,
    email          text NOT NULL UNIQUE CHECK (email = lower(email)),
    name           text NOT NULL,
    password_hash  text NOT NULL,
    disabled       boolean NOT NULL DEFAULT false
);

-- +goose Down
DROP TABLE platform_admins, portal_invites, portal_accounts, prescriptions, payments, invoice_lines,
    invoices, invoice_counters, appointments, patients, staff, fee_schedule, operatories, clinic_settings, clinics;
