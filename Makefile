# mtls - a mutual-TLS toolkit.  Plain make; dependencies through pkg-config.
#
#   make            build mtls, libmtls.a, libmtls.so, libmtls.pc
#   make test       unit tests (cmocka) and integration tests (real peers)
#   make demo       the main job, shown end to end
#   make install PREFIX=/usr/local
#   make sanitize   the test suite under ASan+UBSan
#   make valgrind   the serve/tunnel integration tests under valgrind
#   make fuzz       every libFuzzer target for FUZZ_SECONDS (default 60)
#
# BUILD selects the output folder, so that several builds can share a tree.
# Missing Debian packages are installed by scripts/install-deps.sh, which
# says what it installs.

BUILD     ?= build
# V=1 shows the full compiler command lines.
V         ?= 0
ifeq ($(V),0)
Q = @printf '  CC      %s\n' $< ;
else
Q =
endif
PREFIX    ?= /usr/local
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
DESTDIR   ?=
CC        ?= cc
VERSION   := 0.1.0
SOVERSION := 0

# libpq: the PostgreSQL inventory; yaml-0.1: serve --config; libseccomp and
# libsystemd: the sandbox and sd_notify; libidn2: internationalized names.
PKGS := openssl sqlite3 libpq yaml-0.1 libseccomp libidn2 libsystemd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# Debian's libev ships no .pc file.
EV_LIBS    := $(shell pkg-config --libs libev 2>/dev/null || echo -lev)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

OPT       ?= -O2 -g
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
             -Wmissing-prototypes -Wformat=2
SAN       ?=
CFLAGS    += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(SAN) -fPIC -Iinclude \
             $(PKG_CFLAGS)
LDFLAGS   += $(SAN)
LIBS      := $(PKG_LIBS) $(EV_LIBS) -lpthread

# llhttp, HTTP/1.1's parser, compiled from the C that Debian's node-llhttp
# ships (never copied into this tree) into libmtls.  Its own code is held to
# the compiler's defaults, not to our warnings.
LLHTTP_DIR := /usr/share/llhttp
LLHTTP_INC := /usr/share/include/llhttp
LLHTTP_OBJ := $(patsubst $(LLHTTP_DIR)/%.c,$(BUILD)/llhttp/%.o,\
              $(sort $(wildcard $(LLHTTP_DIR)/*.c)))

# Each layer sees its own headers and those of the layers below it, so that
# an include across layers fails to compile:  cli -> proxy, loadgen -> lib.
# The proxy reaches libmtls through include/mtls.h, and through the HTTP
# glue (src/lib/http) that HTTP mode and the EST server share, and the
# bounded byte reader (src/lib/core/bytes.h, header-only) for its parsers.
LIB_INC     := -Isrc/lib -I$(LLHTTP_INC)
# src/lib/tools holds mtls_tools.h, what libmtls offers its own tools
# beyond the public API (never installed).
PROXY_INC   := -Isrc/proxy -Isrc/lib/http -I$(LLHTTP_INC) -Isrc/lib/core \
               -Isrc/lib/tools
LOADGEN_INC := -Isrc/loadgen -Isrc/lib/tools -I$(LLHTTP_INC)
CLI_INC     := -Isrc/cli -Isrc/proxy -Isrc/loadgen -Isrc/lib/tools
TEST_INC    := $(LIB_INC) $(PROXY_INC) $(LOADGEN_INC) -Isrc/cli

LIB_SRC     := $(sort $(wildcard src/lib/*/*.c))
PROXY_SRC   := $(sort $(wildcard src/proxy/*.c))
LOADGEN_SRC := $(sort $(wildcard src/loadgen/*.c))
CLI_SRC     := $(sort $(wildcard src/cli/*.c))
UNIT_SRC    := $(sort $(wildcard tests/unit/test_*.c))
HEADERS     := include/mtls.h $(wildcard src/*/*.h src/lib/*/*.h)

LIB_OBJ     := $(LIB_SRC:%.c=$(BUILD)/%.o) $(LLHTTP_OBJ)
PROXY_OBJ   := $(PROXY_SRC:%.c=$(BUILD)/%.o)
LOADGEN_OBJ := $(LOADGEN_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ     := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# What a unit test or a fuzz target links besides libmtls.a.
ENGINE_OBJ  := $(PROXY_OBJ) $(LOADGEN_OBJ)

MTLS      := $(BUILD)/mtls
LIBA      := $(BUILD)/libmtls.a
LIBSO     := $(BUILD)/libmtls.so.$(SOVERSION)
PCFILE    := $(BUILD)/libmtls.pc

.PHONY: all build deps deps-test test unit integration demo install clean \
        sanitize format valgrind fuzz fuzz-bins fuzz-link

all: deps
	@$(MAKE) --no-print-directory build

build: $(MTLS) $(LIBA) $(LIBSO) $(PCFILE)

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh all

$(BUILD)/src/lib/%.o: src/lib/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LIB_INC) -c -o $@ $<

$(BUILD)/src/proxy/%.o: src/proxy/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(PROXY_INC) -c -o $@ $<

$(BUILD)/src/loadgen/%.o: src/loadgen/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LOADGEN_INC) -c -o $@ $<

$(BUILD)/src/cli/%.o: src/cli/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(CLI_INC) -c -o $@ $<

$(BUILD)/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE $(OPT) $(SAN) -fPIC -w \
	    -I$(LLHTTP_INC) -c -o $@ $<

# libmtls.so exports only the public mtls_* symbols (src/lib/libmtls.map).
$(LIBA): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(LIBSO): $(LIB_OBJ) src/lib/libmtls.map
	$(CC) -shared -Wl,-soname,libmtls.so.$(SOVERSION) \
	    -Wl,--version-script=src/lib/libmtls.map $(LDFLAGS) -o $@ \
	    $(LIB_OBJ) $(PKG_LIBS)
	ln -sf libmtls.so.$(SOVERSION) $(BUILD)/libmtls.so

$(PCFILE): libmtls.pc.in Makefile
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    libmtls.pc.in > $@

$(MTLS): $(CLI_OBJ) $(ENGINE_OBJ) $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(ENGINE_OBJ) $(LIBA) $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIBA) $(ENGINE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEST_INC) -Wno-missing-prototypes -o $@ $< \
	    $(ENGINE_OBJ) $(LIBA) $(LIBS) $(CMOCKA_LIBS)

# ---- tests ----------------------------------------------------------

test: deps-test
	@$(MAKE) --no-print-directory build unit-bins
	@BUILD=$(BUILD) tests/run-all.sh

unit-bins: $(UNIT_BIN)

unit: deps-test
	@$(MAKE) --no-print-directory build unit-bins
	@BUILD=$(BUILD) tests/run-all.sh unit

integration: deps-test
	@$(MAKE) --no-print-directory build
	@BUILD=$(BUILD) tests/run-all.sh integration

# ASan+UBSan, with LeakSanitizer (part of gcc's ASan on x86_64 Linux), over
# the whole suite.  Reports go to files in build-san/san-logs so that one from
# a background `mtls serve`, or from a command a test expects to fail, is not
# lost: any file there fails the target.  -O2 as in the normal build (gcc's
# format-truncation analysis differs at -O1).  verify_asan_link_order=0:
# faketime preloads itself ahead of the ASan runtime.
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=all
SAN_LOGS  := $(CURDIR)/build-san/san-logs
sanitize:
	@rm -rf $(SAN_LOGS) && mkdir -p $(SAN_LOGS)
	@ASAN_OPTIONS=log_path=$(SAN_LOGS)/asan:detect_leaks=1:exitcode=86:verify_asan_link_order=0 \
	 UBSAN_OPTIONS=log_path=$(SAN_LOGS)/ubsan:print_stacktrace=1:halt_on_error=1 \
	 $(MAKE) --no-print-directory test BUILD=build-san OPT="-O2 -g" \
	    SAN="$(SAN_FLAGS)"; rc=$$?; \
	 if [ -n "$$(ls -A $(SAN_LOGS))" ]; then \
	     for f in $(SAN_LOGS)/*; do echo "== $$f"; head -n 40 "$$f"; done; \
	     echo "sanitize: $$(ls $(SAN_LOGS) | wc -l) report(s) in $(SAN_LOGS)"; \
	     exit 1; \
	 fi; exit $$rc

# `mtls serve` and `mtls tunnel` of the integration tests under valgrind
# (tests/valgrind.sh; lib.sh's mtls_cmd runs them through $MTLS_WRAP).  Any
# valgrind error, leak or descriptor left open fails it.
valgrind: deps-test
	@$(MAKE) --no-print-directory build
	@BUILD=$(BUILD) tests/valgrind.sh

# ---- fuzzing ---------------------------------------------------------
# One libFuzzer target per parser of untrusted input (tests/fuzz/fuzz_*.c),
# built with clang against the library objects compiled for fuzzing in
# $(FUZZ_BUILD).  `make fuzz` runs each for FUZZ_SECONDS, FUZZ_JOBS at a
# time, from the seed corpora in tests/fuzz/corpus; a crash fails it.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= 1
FUZZ_CC      ?= clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))

# Warnings stay warnings here: clang's differ from gcc's, and the gcc build
# is the one that holds the code to -Werror.
fuzz-bins:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) \
	    OPT="-O1 -g" SAN="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" \
	    WARN="$(WARN) -Wno-error" fuzz-link

fuzz-link: $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(LIBA) $(ENGINE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEST_INC) -fsanitize=fuzzer -o $@ $< $(ENGINE_OBJ) \
	    $(LIBA) $(LIBS) -ldl

fuzz: deps-test
	@$(MAKE) --no-print-directory fuzz-bins
	@tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_JOBS)

demo: deps-test
	@$(MAKE) --no-print-directory build
	@BUILD=$(BUILD) scripts/demo.sh

# The benchmark harness: mtls serve side by side with nginx and HAProxy
# (bench/run.sh says how).  Several minutes; not part of `make test`.
.PHONY: bench
bench: deps-test
	@$(MAKE) --no-print-directory build
	@BUILD=$(BUILD) bench/run.sh

# serve --ktls where kernel TLS works: Debian 12's kernel in QEMU
# (tests/ktls/run.sh says how).  Downloads a 70 MB kernel package and runs
# under emulation here; not part of `make test`.
.PHONY: ktls-check
ktls-check:
	@$(MAKE) --no-print-directory build
	@BUILD=$(BUILD) tests/ktls/run.sh

# serve and tunnel under mixed load and injected faults for SOAK_SECONDS
# (scripts/soak.sh says what it asserts).  Not part of `make test`.
SOAK_SECONDS ?= 1800
.PHONY: soak
soak: deps-test
	@$(MAKE) --no-print-directory build
	@BUILD=$(BUILD) scripts/soak.sh $(SOAK_SECONDS)

# ---- install ----------------------------------------------------------

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include \
	    $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man3
	install -m 0755 $(MTLS) $(DESTDIR)$(PREFIX)/bin/mtls
	install -m 0644 $(LIBA) $(DESTDIR)$(PREFIX)/lib/libmtls.a
	install -m 0755 $(LIBSO) $(DESTDIR)$(PREFIX)/lib/libmtls.so.$(SOVERSION)
	ln -sf libmtls.so.$(SOVERSION) $(DESTDIR)$(PREFIX)/lib/libmtls.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    libmtls.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/libmtls.pc
	install -m 0644 include/mtls.h $(DESTDIR)$(PREFIX)/include/mtls.h
	install -m 0644 docs/mtls.1 $(DESTDIR)$(PREFIX)/share/man/man1/mtls.1
	install -m 0644 docs/libmtls.3 $(DESTDIR)$(PREFIX)/share/man/man3/libmtls.3
	# serve --config under systemd (Type=notify, hardened)
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR)
	sed -e 's|/usr/bin/mtls|$(PREFIX)/bin/mtls|g' contrib/systemd/mtls-serve@.service \
	    > $(DESTDIR)$(SYSTEMD_UNIT_DIR)/mtls-serve@.service
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/mtls-serve@.service

format:
	clang-format -i include/*.h src/*/*.[ch] src/lib/*/*.[ch] tests/*/*.c

clean:
	rm -rf build build-*
