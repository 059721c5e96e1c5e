# photobridge - build, install, run and test.
#
#   make            build every binary into $(BUILD)/bin
#   make run        install missing Debian packages, build, start everything
#   make stop       stop the daemons and the PostgreSQL cluster of `make run`
#   make check      the full test suite (fuzz corpus replay, normal and ASan/UBSan builds)
#   make fuzz       the libFuzzer harnesses; fuzz-run FUZZ_SECONDS=N fuzzes each
#   make bench-ingest  the ingest benchmark: prints numbers (bench/README.md)
#   make bench-image   the image pipeline benchmark (bench/README.md)
#   make install    PREFIX=/usr/local DESTDIR=

VERSION   = 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
DATADIR   = $(PREFIX)/share/photobridge

DAEMONS   = gatewayd ingestd jobd providerd janitor
PROGRAMS  = $(DAEMONS) pbctl

# Debian packages the build and `make run` need.
DEB_PACKAGES = build-essential pkg-config libpq-dev libjansson-dev \
	libcurl4-openssl-dev libsodium-dev libcivetweb-dev postgresql \
	runit socat jq curl procps libvips-dev libqrencode-dev
# ... and those only `make check` and the benchmarks need.
TEST_PACKAGES = bats bats-assert bats-support nodejs npm \
	python3-prometheus-client chromium libimage-exiftool-perl \
	libvips-tools imagemagick clang libclang-rt-14-dev slowhttptest zbar-tools

CC       ?= cc
PKGS      = libpq jansson libcurl libsodium vips
WARN      = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
	    -Wmissing-prototypes -Wformat=2 -Wno-format-zero-length -Wvla \
	    -Wundef -Wcast-align -Wwrite-strings
HARDEN    = -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
CFLAGS   ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SAN_CFLAGS) \
	    -DPB_VERSION='"$(VERSION)"' -DPB_DATADIR='"$(DATADIR)"' \
	    -Icommon $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -MMD -MP
# --as-needed: only the programs that use libvips load it.
ALL_LDFLAGS = -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(LDFLAGS) $(SAN_CFLAGS)
LIBS      = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread

COMMON_SRC = $(wildcard common/*.c)
COMMON_OBJ = $(COMMON_SRC:%.c=$(BUILD)/%.o)
COMMON_LIB = $(BUILD)/libpbcommon.a

all: $(PROGRAMS:%=$(BUILD)/bin/%)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HARDEN) -c -o $@ $<

$(COMMON_LIB): $(COMMON_OBJ)
	rm -f $@
	ar rcs $@ $^

# Each program is its folder's .c files linked against common/.
define program
$(1)_OBJ = $$(patsubst %.c,$$(BUILD)/%.o,$$(wildcard $(1)/*.c))
$$(BUILD)/bin/$(1): $$($(1)_OBJ) $$(COMMON_LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$($(1)_OBJ) $$(COMMON_LIB) $(2) $$(LIBS)
-include $$($(1)_OBJ:.o=.d)
endef
$(eval $(call program,gatewayd,-lcivetweb $(shell pkg-config --libs libqrencode 2>/dev/null)))
$(foreach d,ingestd jobd providerd janitor pbctl,$(eval $(call program,$(d),)))

# Unit tests: each tests/unit/NAME_test.c is a program linked with common/
# and the daemon objects listed in NAME_test_OBJS; run by tests/unit.bats.
UNIT_SRC  = $(wildcard tests/unit/*_test.c)
UNIT_BINS = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/bin/%)
gemini_test_OBJS = $(BUILD)/providerd/gemini.o $(BUILD)/providerd/prompt.o \
	$(BUILD)/providerd/result.o
local_test_OBJS  = $(BUILD)/providerd/local_ops.o
mediarefs_test_OBJS = $(BUILD)/gatewayd/mediarefs.o
providers_test_OBJS = $(BUILD)/providerd/turbotext.o $(BUILD)/providerd/openai.o \
	$(BUILD)/providerd/prompt.o $(BUILD)/providerd/result.o
.SECONDEXPANSION:
$(BUILD)/bin/%_test: $(BUILD)/tests/unit/%_test.o $$($$*_test_OBJS) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $($*_test_OBJS) $(COMMON_LIB) $(LIBS)
-include $(UNIT_SRC:%.c=$(BUILD)/%.d)

# Fake providers for the tests: tests/fakes/fake-NAME.c -> $(BUILD)/bin/fake-NAME,
# with the skeleton they share (fakesrv.c).
FAKE_SRC  = $(wildcard tests/fakes/fake-*.c)
FAKE_BINS = $(FAKE_SRC:tests/fakes/%.c=$(BUILD)/bin/%)
FAKE_LIB  = $(BUILD)/tests/fakes/fakesrv.o
$(BUILD)/bin/fake-%: $(BUILD)/tests/fakes/fake-%.o $(FAKE_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(FAKE_LIB) $(COMMON_LIB) -lcivetweb $(LIBS)
-include $(FAKE_SRC:%.c=$(BUILD)/%.d) $(FAKE_LIB:.o=.d)

# Benchmarks (bench/README.md): bench/NAME.c -> $(BUILD)/bin/bench-NAME.
# `make bench` builds them; `make bench-ingest` runs bench/ingest.
BENCH_SRC  = $(wildcard bench/*.c)
BENCH_BINS = $(BENCH_SRC:bench/%.c=$(BUILD)/bin/bench-%)
$(BUILD)/bin/bench-%: $(BUILD)/bench/%.o $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(COMMON_LIB) -lcivetweb $(LIBS)
-include $(BENCH_SRC:%.c=$(BUILD)/%.d)
bench: $(BENCH_BINS)
bench-ingest: tests bench
	BENCH_BUILD=$(abspath $(BUILD)) bench/ingest
bench-image: bench
	$(BUILD)/bin/bench-image
.PHONY: bench bench-ingest bench-image

# libFuzzer harnesses (clang, tests/fuzz/README.md): tests/fuzz/NAME_fuzz.c
# linked with common/, the small-stack runner and NAME_fuzz_OBJ, under
# ASan/UBSan.  `make fuzz` builds them; `make fuzz-run FUZZ_SECONDS=60` runs
# each from its seed corpus tests/fuzz/corpus/NAME (new inputs go to
# build-fuzz/corpus/NAME, crashes to build-fuzz/); `make fuzz-replay` runs
# each once over its seed corpus (seconds; part of `make check`).
FUZZ_SRC     = $(wildcard tests/fuzz/*_fuzz.c)
FUZZ_NAMES   = $(FUZZ_SRC:tests/fuzz/%_fuzz.c=%)
FUZZ_BINS    = $(FUZZ_NAMES:%=build-fuzz/%_fuzz)
FUZZ_SECONDS ?= 30
FUZZ_CFLAGS  = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O1 -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined -DPB_VERSION='"$(VERSION)"' \
	-DPB_DATADIR='"$(DATADIR)"' -DFUZZ_PROVIDERS='"$(CURDIR)/configs/providers.json"' \
	-Icommon -Iproviderd $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -MMD -MP
FUZZ_LIB     = $(COMMON_SRC:%.c=build-fuzz/obj/%.o) build-fuzz/obj/tests/fuzz/smallstack.o
gemini_fuzz_OBJ    = build-fuzz/obj/providerd/gemini.o build-fuzz/obj/providerd/prompt.o \
	build-fuzz/obj/providerd/result.o
openai_fuzz_OBJ    = build-fuzz/obj/providerd/openai.o build-fuzz/obj/providerd/prompt.o \
	build-fuzz/obj/providerd/result.o
turbotext_fuzz_OBJ = build-fuzz/obj/providerd/turbotext.o build-fuzz/obj/providerd/prompt.o \
	build-fuzz/obj/providerd/result.o
build-fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
build-fuzz/%_fuzz: build-fuzz/obj/tests/fuzz/%_fuzz.o $(FUZZ_LIB) $$($$*_fuzz_OBJ)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $($*_fuzz_OBJ) $(FUZZ_LIB) $(LIBS)
-include $(wildcard build-fuzz/obj/*/*.d build-fuzz/obj/tests/fuzz/*.d)
fuzz: $(FUZZ_BINS)
fuzz-run: fuzz
	@for n in $(FUZZ_NAMES); do echo "== $$n"; mkdir -p build-fuzz/corpus/$$n; \
	    build-fuzz/$${n}_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=build-fuzz/$$n- build-fuzz/corpus/$$n tests/fuzz/corpus/$$n \
	    || exit 1; done
fuzz-replay: fuzz
	@for n in $(FUZZ_NAMES); do \
	    build-fuzz/$${n}_fuzz -artifact_prefix=build-fuzz/$$n- tests/fuzz/corpus/$$n/* \
	    >build-fuzz/$$n.replay 2>&1 || { cat build-fuzz/$$n.replay; \
	    echo "fuzz-replay: $$n failed"; exit 1; }; \
	    echo "fuzz-replay: $$n: $$(ls tests/fuzz/corpus/$$n | wc -l) inputs ok"; done

tests: all $(UNIT_BINS) $(FAKE_BINS)
-include $(COMMON_OBJ:.o=.d)

install: all
	install -d $(DESTDIR)$(PREFIX)/libexec/photobridge $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(DATADIR) $(DESTDIR)$(PREFIX)/share/man/man8 \
	    $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 0755 $(DAEMONS:%=$(BUILD)/bin/%) $(DESTDIR)$(PREFIX)/libexec/photobridge/
	install -m 0755 $(BUILD)/bin/pbctl $(DESTDIR)$(PREFIX)/bin/
	cp -R sql ui configs runit $(DESTDIR)$(DATADIR)/
	install -d $(DESTDIR)$(DATADIR)/docs
	install -m 0644 docs/openapi.json $(DESTDIR)$(DATADIR)/docs/
	install -m 0644 docs/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 docs/*.7 $(DESTDIR)$(PREFIX)/share/man/man7/

clean:
	rm -rf build build-asan build-fuzz

# The Debian packages, then the browser tests' npm packages.
deps: deps-test tests/ui/node_modules

# playwright-core for tests/ui.bats, pinned by tests/ui/package-lock.json.
tests/ui/node_modules: tests/ui/package.json tests/ui/package-lock.json
	cd tests/ui && npm ci --no-audit --no-fund
	touch $@

deps-test:
	$(MAKE) deps-deb DEB_PACKAGES='$(DEB_PACKAGES) $(TEST_PACKAGES)'

deps-deb:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    [ $$p = npm ] && command -v npm >/dev/null && continue; \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	    done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" -ne 0 ]; then \
	    echo "missing packages; run: sudo apt-get install -y $$missing" >&2; exit 1; fi; \
	echo "installing: $$missing"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null

run: deps-deb
	$(MAKE) all
	PB_BUILD_DIR=$(CURDIR)/$(BUILD) runit/photobridge-up

stop:
	runit/photobridge-down

# The OpenAPI validator of tests/api.bats, pinned by tests/package-lock.json.
tests/node_modules: tests/package.json tests/package-lock.json
	cd tests && npm ci --no-audit --no-fund
	touch $@

check: deps tests/node_modules
	$(MAKE) fuzz-replay
	$(MAKE) tests
	$(MAKE) BUILD=build-asan SAN_CFLAGS='$(ASAN_FLAGS)' tests
	tests/run $(CURDIR)/build $(CURDIR)/build-asan

check-asan: deps tests/node_modules
	$(MAKE) BUILD=build-asan SAN_CFLAGS='$(ASAN_FLAGS)' tests
	tests/run $(CURDIR)/build-asan

ASAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	     -fno-omit-frame-pointer

.PHONY: all tests fuzz fuzz-run fuzz-replay install clean deps deps-deb deps-test run stop check check-asan
