# Benchmarks; docs/benchmarks.md explains every figure and its baseline.
#
#   make bench         micro-benchmarks, -count=$(COUNT) each, then benchstat
#   make bench-scale   RLS at scale and the app under load, on a database
#                      made by dentalgen in $(DATA) (made first if missing;
#                      the full scale takes about half an hour: a 10 GB database,
#                      30 GB of disk with its WAL while loading)

GO        ?= go
COUNT     ?= 6
BENCHOUT  ?= bench-out
BENCHSTAT ?= $(GO) run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
DATA      ?= /tmp/dentalscale
SCALE     ?=
BIN       ?= $(BENCHOUT)/bin

.PHONY: bench bench-scale

bench:
	@mkdir -p $(BENCHOUT)
	$(GO) test -run='^$$' -bench=. -benchtime=3000x -count=$(COUNT) ./tenantdb > $(BENCHOUT)/tenantdb.txt
	$(GO) test -run='^$$' -bench=. -count=$(COUNT) ./sqlguard > $(BENCHOUT)/sqlguard.txt
	$(GO) test -run='^$$' -bench=. -count=$(COUNT) ./jwtctx > $(BENCHOUT)/jwtctx.txt
	$(GO) test -run='^$$' -bench=. -benchtime=500x -count=$(COUNT) ./audit > $(BENCHOUT)/audit.txt
	$(GO) test -run='^$$' -bench=RLS -benchtime=300x -count=$(COUNT) ./examples/dentalclinic/internal/scale > $(BENCHOUT)/rls.txt
	@for f in tenantdb sqlguard jwtctx audit; do echo; echo "== $$f"; $(BENCHSTAT) $(BENCHOUT)/$$f.txt; done
	@echo; echo "== RLS (20 clinics, 200,000 appointments), by variant"; $(BENCHSTAT) -col /variant $(BENCHOUT)/rls.txt

bench-scale:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/dentalgen ./examples/dentalclinic/cmd/dentalgen
	$(GO) build -o $(BIN)/dentalrls ./examples/dentalclinic/cmd/dentalrls
	$(GO) build -o $(BIN)/dentalload ./examples/dentalclinic/cmd/dentalload
	$(GO) build -o $(BIN)/dentalbase ./examples/dentalclinic/cmd/dentalbase
	$(GO) build -o $(BIN)/dentalclinic ./examples/dentalclinic
	test -f $(DATA)/pgdata/PG_VERSION || $(BIN)/dentalgen -data $(DATA) $(SCALE)
	$(BIN)/dentalrls -data $(DATA) -plans $(BENCHOUT)/plans.md
	$(BIN)/dentalload -data $(DATA) -app $(BIN)/dentalclinic -base $(BIN)/dentalbase
