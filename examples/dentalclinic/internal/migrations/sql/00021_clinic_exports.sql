-- +goose Up
-- A clinic's exports of its records (tenantarchive's archive, written by
-- an export job in the clinic's context to the app's data directory): who
-- asked, when, and what the archive holds. The request of one is limited
-- to one an hour per clinic (store.RequestExport).
CREATE TABLE clinic_exports (
    clinic_id    uuid NOT NULL REFERENCES clinics (id),
    id           uuid NOT NULL,
    requested_by uuid NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ready', 'failed')),
    finished_at  timestamptz,
    tables       integer NOT NULL DEFAULT 0 CHECK (tables >= 0),
    rows         bigint NOT NULL DEFAULT 0 CHECK (rows >= 0),
    bytes        bigint NOT NULL DEFAULT 0 CHECK (bytes >= 0),
    digest       text NOT NULL DEFAULT '' CHECK (length(digest) <= 200),
    PRIMARY KEY (clinic_id, id),
    FOREIGN KEY (clinic_id, requested_by) REFERENCES staff (clinic_id, id)
);
CREATE INDEX clinic_exports_requested ON clinic_exports (clinic_id, requested_at);

-- +goose Down
DROP TABLE clinic_exports;
