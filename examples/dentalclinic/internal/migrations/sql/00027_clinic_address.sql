-- +goose Up
-- The clinic's postal address, as its receipts and statements print it
-- (store.Settings.Address): a few lines of plain text.
ALTER TABLE clinic_settings ADD COLUMN address text NOT NULL DEFAULT ''
    CHECK (length(address) <= 500);

-- +goose Down
ALTER TABLE clinic_settings DROP COLUMN address;
