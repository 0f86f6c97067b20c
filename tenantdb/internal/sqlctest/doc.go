// Package sqlctest is sqlc's pgx/v5 output for tenantdb's sqlc test: one
// query of each kind (:exec, :one, :many, :batchexec, :batchone,
// :batchmany, :copyfrom) over the test schema's patients table. The
// generated files are committed; regenerate them with sqlc v1.31.1 (see
// sqlc.yaml).
package sqlctest
