package tenantdb_test

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mydentalpractice/tenancy"
	"github.com/mydentalpractice/tenancy/pgtest"
	"github.com/mydentalpractice/tenancy/tenantdb"
)

// rawTypes are the handles that reach the server outside the guard.
var rawTypes = []reflect.Type{
	reflect.TypeFor[*pgx.Conn](),
	reflect.TypeFor[*pgxpool.Conn](),
	reflect.TypeFor[*pgxpool.Pool](),
	reflect.TypeFor[*pgconn.PgConn](),
}

var txType = reflect.TypeFor[pgx.Tx]()

// guardedTx is the one pgx.Tx the package hands out: a view whose every
// method is guarded and whose Conn is nil. The finder walks it like any
// other value instead of reporting it, and lets its Begin return pgx.Tx
// (the interface demands it): the test calls Begin and walks the result,
// which is reported unless it is a guardedTx too.
var guardedTx = reflect.TypeFor[*tenantdb.PgxTx]()

// isRaw reports whether t is a raw handle's type, or pgx.Tx (or a type
// that implements it) other than guardedTx.
func isRaw(t reflect.Type) bool {
	if t == guardedTx {
		return false
	}
	return slices.Contains(rawTypes, t) || t == txType || (t.Kind() != reflect.Interface && t.Implements(txType))
}

// mayHoldRaw reports whether a value of static type t could be a raw
// handle: t is one, or an interface that one implements (such as any).
func mayHoldRaw(t reflect.Type) bool {
	if isRaw(t) {
		return true
	}
	if t.Kind() != reflect.Interface {
		return false
	}
	for _, r := range rawTypes {
		if r.Implements(t) {
			return true
		}
	}
	return false
}

// rawFinder walks values through every method that takes no arguments
// (Conn, Tx, Unwrap, Query, …), their results, and the elements of
// slices, and records each path to a raw handle, down to a depth of five
// calls. Methods that take arguments are checked by their result types.
type rawFinder struct {
	found []string
}

func (f *rawFinder) walk(path string, v reflect.Value, depth int) {
	for v.IsValid() && v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if !v.IsValid() || depth > 5 {
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
		if v.IsNil() {
			return
		}
	}
	t := v.Type()
	if isRaw(t) {
		f.found = append(f.found, fmt.Sprintf("%s is a %v", path, t))
		return
	}
	if t.Kind() == reflect.Pointer && t.Elem().PkgPath() != "" && !strings.HasPrefix(t.Elem().PkgPath(), "github.com/") {
		return // standard library values (time.Location, …)
	}
	if t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8 {
		for i := range min(v.Len(), 4) {
			f.walk(fmt.Sprintf("%s[%d]", path, i), v.Index(i), depth+1)
		}
	}
	// Close last: the other methods read what it would discard.
	var names []string
	for i := range t.NumMethod() {
		names = append(names, t.Method(i).Name)
	}
	slices.SortStableFunc(names, func(a, b string) int {
		return boolInt(a == "Close") - boolInt(b == "Close")
	})
	for _, name := range names {
		m, _ := t.MethodByName(name)
		if m.Type.NumIn() != 1 || m.Type.IsVariadic() {
			for j := range m.Type.NumOut() {
				if out := m.Type.Out(j); mayHoldRaw(out) && (t != guardedTx || out != txType) {
					f.found = append(f.found, fmt.Sprintf("%s.%s returns %v", path, name, out))
				}
			}
			continue
		}
		for j, r := range call(v.Method(m.Index)) {
			f.walk(fmt.Sprintf("%s.%s()[%d]", path, name, j), r, depth+1)
		}
	}
}

// call calls m without arguments; a method that panics (pgx's rows of a
// failed statement do, on FieldDescriptions) returns nothing.
func call(m reflect.Value) (out []reflect.Value) {
	defer func() {
		if recover() != nil {
			out = nil
		}
	}()
	return m.Call(nil)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func newRawFinder() *rawFinder { return &rawFinder{} }

// calls returns a call for every method of v's type from table, and fails
// t for each method without one, so that a new method is not left out.
func forEveryMethod(t *testing.T, v any, table map[string]func() []any, visit func(path string, results []any)) {
	t.Helper()
	typ := reflect.TypeOf(v)
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		call, ok := table[name]
		if !ok {
			t.Errorf("%v.%s is not called by this test: add it, and walk what it returns", typ, name)
			continue
		}
		results := call()
		visit(fmt.Sprintf("%v.%s", typ, name), results)
		for _, r := range results {
			if row, ok := r.(pgx.Row); ok {
				_ = row.Scan() // ends its statement, so the next one can run
			}
		}
	}
}

// batchOf3 queues three reads, with a callback of every kind, whose
// arguments go to sink.
func batchOf3(sink func(path string, v any)) *pgx.Batch {
	b := &pgx.Batch{}
	b.Queue("select name from patients where clinic_id = $1 limit 1", clinicA)
	b.Queue("select name from patients where clinic_id = $1 limit 2", clinicA)
	b.Queue("select name from patients where clinic_id = $1 limit 3", clinicA)
	b.Queue("select name from patients where clinic_id = $1 limit 1", clinicA).QueryRow(func(row pgx.Row) error {
		sink("QueryRow callback's row", row)
		return row.Scan(new(string))
	})
	b.Queue("select name from patients where clinic_id = $1", clinicA).Query(func(rows pgx.Rows) error {
		sink("Query callback's rows", rows)
		return nil
	})
	b.Queue("select 1").Exec(func(tag pgconn.CommandTag) error {
		sink("Exec callback's tag", tag)
		return nil
	})
	return b
}

// TestRawFinderSeesPgxBatchResults: pgx's own batch results, and the rows
// its queued callbacks get, lead to the raw connection, so the finder
// below can fail.
func TestRawFinderSeesPgxBatchResults(t *testing.T) {
	db := schema(t)
	admin := db.Pool(t, pgtest.Admin) // no RLS in the way: this is about pgx
	f := newRawFinder()
	br := admin.SendBatch(context.Background(), batchOf3(func(path string, v any) { f.walk(path, reflect.ValueOf(v), 0) }))
	f.walk("pgx BatchResults", reflect.ValueOf(br), 0)
	var rowsConn, callbackConn bool
	for _, s := range f.found {
		rowsConn = rowsConn || strings.HasPrefix(s, "pgx BatchResults.Query()[0].Conn()")
		callbackConn = callbackConn || strings.HasPrefix(s, "Query callback's rows.Conn()")
	}
	if !rowsConn || !callbackConn {
		t.Fatalf("the finder missed the connection behind pgx's batch results (rows: %v, callback: %v); found %q", rowsConn, callbackConn, f.found)
	}
}

// TestNothingReturnedLeadsToTheConnection calls every method of Pool, Tx,
// SystemTx and PreAuth, and walks every value they return (rows, rows,
// batch results, the rows and rows of batch callbacks, command tags,
// errors, the model) through every argument-less method: none leads to a
// *pgx.Conn, *pgxpool.Conn, *pgxpool.Pool, *pgconn.PgConn or pgx.Tx.
func TestNothingReturnedLeadsToTheConnection(t *testing.T) {
	db := schema(t)
	pool, _ := appPool(t, db, 2, "")
	p := newPool(t, pool, tenantdb.Config{
		System:   db.Pool(t, pgtest.Platform),
		OnSystem: func(context.Context, pgx.Tx, tenantdb.SystemUse) error { return nil },
	})
	ctx := staffCtx(clinicA, staffA)
	f := newRawFinder()
	sink := func(path string, v any) { f.walk(path, reflect.ValueOf(v), 0) }
	visit := func(path string, results []any) {
		for i, r := range results {
			// Only the calls meant to fail (a missing table) may fail.
			if err, ok := r.(error); ok && err != nil && !strings.Contains(err.Error(), "no_such_table") {
				t.Errorf("%s: %v", path, err)
			}
			sink(fmt.Sprintf("%s[%d]", path, i), r)
		}
	}
	const read = "select clinic_id, name from patients where clinic_id = $1"
	bad := "select * from no_such_table" // errors are walked too
	pair := func(a, b any) []any { return []any{a, b} }

	var pgxTxCalls func(v *tenantdb.PgxTx, nested bool) map[string]func() []any
	txCalls := func(tx *tenantdb.Tx) map[string]func() []any {
		return map[string]func() []any{
			"Exec": func() []any {
				tag, err := tx.Exec(ctx, "update patients set name = name where clinic_id = $1", clinicA)
				_, err2 := tx.Exec(ctx, "savepoint s")
				return []any{tag, err, err2}
			},
			"Query":     func() []any { return pair(tx.Query(ctx, read, clinicA)) },
			"QueryRow":  func() []any { return []any{tx.QueryRow(ctx, read, clinicA)} },
			"SendBatch": func() []any { return []any{tx.SendBatch(ctx, batchOf3(sink))} },
			"QueueAtCommit": func() []any {
				return []any{tx.QueueAtCommit("update patients set name = name where clinic_id = $1", clinicA)}
			},
			"CopyFrom": func() []any {
				n, err := tx.CopyFrom(ctx, pgx.Identifier{"patients"}, patientColumns, pgx.CopyFromRows(patientRows(clinicA, "walk", 2)))
				return []any{n, err}
			},
			"Pgx": func() []any {
				v := tx.Pgx()
				forEveryMethod(t, v, pgxTxCalls(v, false), visit)
				return []any{v}
			},
		}
	}
	pgxTxCalls = func(v *tenantdb.PgxTx, nested bool) map[string]func() []any {
		end := func(end func(context.Context) error) func() []any {
			return func() []any {
				if !nested {
					_ = end(ctx) // refused: ErrTxControl
				}
				return nil // a nested view is committed after the walk
			}
		}
		return map[string]func() []any{
			"Exec": func() []any {
				return pair(v.Exec(ctx, "update patients set name = name where clinic_id = $1", clinicA))
			},
			"Query":     func() []any { return pair(v.Query(ctx, read, clinicA)) },
			"QueryRow":  func() []any { return []any{v.QueryRow(ctx, read, clinicA)} },
			"SendBatch": func() []any { return []any{v.SendBatch(ctx, batchOf3(sink))} },
			"CopyFrom": func() []any {
				n, err := v.CopyFrom(ctx, pgx.Identifier{"patients"}, patientColumns, pgx.CopyFromRows(patientRows(clinicA, "walk-view", 2)))
				return []any{n, err}
			},
			"Begin": func() []any {
				if nested {
					return nil // one level is enough: it is the same type
				}
				sub, err := v.Begin(ctx)
				if err != nil {
					return []any{err}
				}
				if reflect.TypeOf(sub) == guardedTx {
					forEveryMethod(t, sub, pgxTxCalls(sub.(*tenantdb.PgxTx), true), visit)
				}
				return []any{sub, sub.Commit(ctx)}
			},
			"Commit":   end(v.Commit),
			"Rollback": end(v.Rollback),
			"Prepare": func() []any {
				sd, _ := v.Prepare(ctx, "q", read)
				return []any{sd}
			},
			"LargeObjects": func() []any { return []any{v.LargeObjects()} },
			"Conn":         func() []any { return []any{v.Conn()} },
		}
	}
	systemCalls := func(tx *tenantdb.SystemTx) map[string]func() []any {
		return map[string]func() []any{
			"Exec":     func() []any { return pair(tx.Exec(ctx, "select 1")) },
			"Query":    func() []any { return pair(tx.Query(ctx, "select id, name from clinics")) },
			"QueryRow": func() []any { return []any{tx.QueryRow(ctx, "select name from clinics limit 1")} },
			"SendBatch": func() []any {
				b := &pgx.Batch{}
				for range 3 { // for the results' Exec, Query and QueryRow
					b.Queue("select name from clinics")
				}
				b.Queue("select name from clinics").Query(func(rows pgx.Rows) error { sink("SystemTx Query callback's rows", rows); return nil })
				return []any{tx.SendBatch(ctx, b)}
			},
			"CopyFrom": func() []any {
				n, err := tx.CopyFrom(ctx, pgx.Identifier{"clinics"}, []string{"id", "name"}, pgx.CopyFromRows(nil))
				return []any{n, err}
			},
		}
	}
	preAuth := p.PreAuth()
	forEveryMethod(t, preAuth, map[string]func() []any{
		"Query":    func() []any { return pair(preAuth.Query(ctx, "public.clinic_names")) },
		"QueryRow": func() []any { return []any{preAuth.QueryRow(ctx, "public.clinic_by_name", "A", true)} },
		"Exec":     func() []any { return pair(preAuth.Exec(ctx, "public.clinic_names")) },
		"Model":    func() []any { return []any{preAuth.Model()} },
	}, visit)
	forEveryMethod(t, p, map[string]func() []any{
		"Exec":     func() []any { return pair(p.Exec(ctx, bad)) },
		"Query":    func() []any { return pair(p.Query(ctx, read, clinicA)) },
		"QueryRow": func() []any { return []any{p.QueryRow(ctx, read, clinicA)} },
		"Tx": func() []any {
			return []any{p.Tx(ctx, func(tx *tenantdb.Tx) error {
				forEveryMethod(t, tx, txCalls(tx), visit)
				return nil
			})}
		},
		"ReadTenant": func() []any {
			return []any{p.ReadTenant(ctx, clinicA, "walk the values", func(ctx context.Context, r *tenantdb.TenantReader) error {
				sink("ReadTenant's context", ctx)
				forEveryMethod(t, r, map[string]func() []any{
					"Tenant": func() []any { return []any{r.Tenant()} },
					"Copy": func() []any {
						return pair(r.Copy(ctx, io.Discard, "select clinic_id, name from patients where clinic_id = (select tenancy.current_tenant_id())"))
					},
					"Query":       func() []any { return pair(r.Query(ctx, read, clinicA)) },
					"SystemCopy":  func() []any { return pair(r.SystemCopy(ctx, io.Discard, "select id, name from clinics")) },
					"SystemQuery": func() []any { return pair(r.SystemQuery(ctx, "select id, name from clinics")) },
				}, visit)
				return nil
			})}
		},
		"EraseTenant": func() []any {
			return []any{p.EraseTenant(ctx, clinicA, "walk the values", func(ctx context.Context, e *tenantdb.TenantEraser) error {
				sink("EraseTenant's context", ctx)
				forEveryMethod(t, e, map[string]func() []any{
					"Tenant": func() []any { return []any{e.Tenant()} },
					"Tx": func() []any {
						return []any{e.Tx(ctx, func(ctx context.Context, tx *tenantdb.Tx) error {
							forEveryMethod(t, tx, txCalls(tx), visit)
							sink("TenantEraser.Tx's context", ctx)
							return nil
						})}
					},
					"Read": func() []any {
						return []any{e.Read(ctx, func(ctx context.Context, tx *tenantdb.Tx) error {
							sink("TenantEraser.Read's context", ctx)
							return nil
						})}
					},
					"System": func() []any {
						return []any{e.System(ctx, func(ctx context.Context, tx *tenantdb.SystemTx) error {
							forEveryMethod(t, tx, systemCalls(tx), visit)
							sink("TenantEraser.System's context", ctx)
							return nil
						})}
					},
				}, visit)
				return nil
			})}
		},
		"InTenant": func() []any {
			return []any{p.InTenant(ctx, clinicA, "walk the values", func(ctx context.Context, tx *tenantdb.Tx) error {
				forEveryMethod(t, tx, txCalls(tx), visit)
				sink("InTenant's context", ctx)
				return nil
			})}
		},
		"EveryTenant": func() []any {
			res, err := p.EveryTenant(ctx, "walk the values", tenantdb.EveryTenantConfig{Run: "walk", Tenants: []tenancy.ID{clinicA}},
				func(ctx context.Context, tx *tenantdb.Tx) error {
					forEveryMethod(t, tx, txCalls(tx), visit)
					sink("EveryTenant's context", ctx)
					return nil
				})
			return []any{res, err}
		},
		"Tenants": func() []any { return pair(p.Tenants(ctx, "walk the values")) },
		"System": func() []any {
			return []any{p.System(ctx, "walk the values", func(tx *tenantdb.SystemTx) error {
				forEveryMethod(t, tx, systemCalls(tx), visit)
				return nil
			})}
		},
		"TxWith": func() []any {
			return []any{p.TxWith(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx *tenantdb.Tx) error {
				forEveryMethod(t, tx, txCalls(tx), visit)
				return nil
			})}
		},
		"SendBatch": func() []any { return []any{p.SendBatch(ctx, batchOf3(sink))} },
		"CopyFrom": func() []any {
			n, err := p.CopyFrom(ctx, pgx.Identifier{"patients"}, patientColumns, pgx.CopyFromRows(patientRows(clinicA, "walk-pool", 2)))
			return []any{n, err}
		},
		"ReadOnly": func() []any {
			ro := p.ReadOnly()
			forEveryMethod(t, ro, map[string]func() []any{
				"Exec":     func() []any { return pair(ro.Exec(ctx, bad)) },
				"Query":    func() []any { return pair(ro.Query(ctx, read, clinicA)) },
				"QueryRow": func() []any { return []any{ro.QueryRow(ctx, read, clinicA)} },
				"Tx": func() []any {
					// The Tx is the type walked under "Tx" (whose calls
					// write, which a read-only transaction refuses).
					return []any{ro.Tx(ctx, func(tx *tenantdb.Tx) error {
						sink("ReadOnly.Tx's transaction", tx)
						return nil
					})}
				},
			}, visit)
			return []any{ro}
		},
		"PreAuth": func() []any { return []any{p.PreAuth()} },
		"Model":   func() []any { return []any{p.Model()} },
		"Ping":    func() []any { return []any{p.Ping(ctx)} },
		"Close":   func() []any { p.Close(); return nil }, // a pool handed to New stays open
	}, visit)
	// The data was there to be read: the walk saw rows, not only errors.
	var n int
	if err := p.QueryRow(ctx, "select count(*) from patients where clinic_id = $1 and name not like 'walk%'", clinicA).Scan(&n); err != nil || n != 5 {
		t.Fatalf("after the walk: %d patients of A (%v), want 5", n, err)
	}
	for _, s := range f.found {
		t.Errorf("LEAK: %s", s)
	}
	if _, ok := tenancy.FromContext(ctx); !ok {
		t.Fatal("lost the principal")
	}
}
