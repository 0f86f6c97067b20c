-- +goose Up
-- A family-name prefix search that row-level security does not slow down.
-- Under row-level security PostgreSQL may use a condition inside an index
-- scan only if its functions are LEAKPROOF; lower() and LIKE are not, so
-- lower(family_name) LIKE 'wil%' reads the whole clinic through the
-- patients_name index and filters it. family_name_key stores the folded
-- name, and the search compares it with the text_pattern_ops operators
-- (~>=~ and ~<~, which are leakproof): an index range again.
--
-- The key folds ASCII letters only (lower() under the "C" collation), so
-- it is the same in every database locale and the app can fold a prefix
-- the same way in Go (store.NamePrefixBounds); other characters match as
-- they are.
ALTER TABLE patients ADD COLUMN family_name_key text
    GENERATED ALWAYS AS (lower(family_name COLLATE "C")) STORED;
CREATE INDEX patients_family_name_key ON patients (clinic_id, family_name_key text_pattern_ops, lower(given_name), id);

-- +goose Down
DROP INDEX patients_family_name_key;
ALTER TABLE patients DROP COLUMN family_name_key;
