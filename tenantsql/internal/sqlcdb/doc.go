// Package sqlcdb is the code sqlc generates for database/sql from
// query.sql and schema.sql (sqlc.yaml says how to regenerate it): the
// subject of tenantsql's TestSQLC, which runs it unchanged on a
// tenant-scoped *sql.DB.
package sqlcdb
