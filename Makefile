# mambaboot: `make`, `make test`, `make asan`, `make fuzz`, `make bench`,
# `make tsan`, `make static`, `make dist`, `make install PREFIX=/usr/local DESTDIR=`,
# `make clean`.

PKGS      := libcurl libarchive libcrypto yaml-0.1 jansson
DEB_PKGS  := libcurl4-openssl-dev libarchive-dev libssl-dev libyaml-dev libjansson-dev libbz2-dev
VERSION   := 0.1.0

CC        ?= cc
CFLAGS    ?= -O2 -g
PREFIX    ?= /usr/local
DESTDIR   ?=
FUZZ_SECONDS ?= 20

# libcurl and libarchive are dlopen()ed when first needed (src/dl.h says
# why); `make LIBS=linked` links them instead, as a static build must.
# The choice is which of src/link/lazy.c and src/link/linked.c is built.
LAZY_PKGS := libcurl libarchive
LIBS      ?= lazy
LINK_SRC  := src/link/$(LIBS).c
LINK_PKGS := $(if $(filter linked,$(LIBS)),$(PKGS),$(filter-out $(LAZY_PKGS),$(PKGS)))
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(LINK_PKGS) 2>/dev/null) -lbz2 -pthread -ldl
# Unit tests may call the libraries themselves (to write test archives).
TEST_LIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lbz2 -pthread -ldl
MB_CFLAGS  := -std=c11 -pthread -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L \
              -DMB_VERSION_STRING='"$(VERSION)"' $(PKG_CFLAGS)
SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

SRC      := $(sort $(wildcard src/*.c)) $(LINK_SRC)
CORE_SRC := $(filter-out src/main.c,$(SRC))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
TEST_HDRS := $(wildcard tests/unit/*.h)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

OBJ       := $(SRC:src/%.c=build/obj/%.o)
CORE_OBJ  := $(CORE_SRC:src/%.c=build/obj/%.o)
ASAN_OBJ  := $(SRC:src/%.c=build/asan/obj/%.o)
ASAN_CORE := $(CORE_SRC:src/%.c=build/asan/obj/%.o)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=build/tests/%)
ASAN_UNIT := $(UNIT_SRC:tests/unit/%.c=build/asan/tests/%)
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)

.PHONY: all deps test unit asan tsan fuzz bench install clean static dist
all: mambaboot

# A missing library is named, with the Debian packages that provide it.
deps:
	@for p in $(PKGS); do pkg-config --exists $$p || { \
	  echo "mambaboot: the library '$$p' is missing; on Debian run:" >&2; \
	  echo "  sudo apt-get install $(DEB_PKGS)   (or: scripts/setup-debian.sh, which uses sudo when not root)" >&2; \
	  exit 1; }; done

build/obj/%.o: src/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(MB_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

mambaboot: $(OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJ) $(PKG_LIBS)

build/tests/%: tests/unit/%.c $(CORE_OBJ) $(TEST_HDRS)
	@mkdir -p $(@D)
	$(CC) $(MB_CFLAGS) $(CFLAGS) -iquote src -o $@ $< $(CORE_OBJ) $(TEST_LIBS) -lcmocka

unit: $(UNIT_BIN)

# MB=build/static/mambaboot runs the integration tests against that binary.
MB ?= ./mambaboot
test: mambaboot $(UNIT_BIN) static
	@tests/run.sh --bin $(MB) --unit build/tests

# The same suite, everything built with AddressSanitizer + UBSan.
build/asan/obj/%.o: src/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(MB_CFLAGS) -O1 -g $(SAN_FLAGS) -MMD -MP -c -o $@ $<

build/asan/mambaboot: $(ASAN_OBJ)
	$(CC) -g $(SAN_FLAGS) -o $@ $(ASAN_OBJ) $(PKG_LIBS)

build/asan/tests/%: tests/unit/%.c $(ASAN_CORE) $(TEST_HDRS)
	@mkdir -p $(@D)
	$(CC) $(MB_CFLAGS) -O1 -g $(SAN_FLAGS) -iquote src -o $@ $< $(ASAN_CORE) $(TEST_LIBS) -lcmocka

asan: build/asan/mambaboot $(ASAN_UNIT) static
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  tests/run.sh --bin build/asan/mambaboot --unit build/asan/tests

# ThreadSanitizer over the code that runs threads: the download's hash and
# write threads, bz2par, the wheel unpacker, conda unpacking ahead of
# linking (unpackq), the cache lock's race; each report stops the run.
TSAN_FLAGS  := -fsanitize=thread -fno-omit-frame-pointer
TSAN_OBJ    := $(SRC:src/%.c=build/tsan/obj/%.o)
TSAN_CORE   := $(CORE_SRC:src/%.c=build/tsan/obj/%.o)
TSAN_UNITS  := test_fetch_hashpipe test_bz2par test_cache_lock test_wheel
TSAN_SUITES := conda_parallel conda_corpus conda_meta install_faults fetch fetch_lock wheel_pip

build/tsan/obj/%.o: src/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(MB_CFLAGS) -O1 -g $(TSAN_FLAGS) -MMD -MP -c -o $@ $<

build/tsan/mambaboot: $(TSAN_OBJ)
	$(CC) -g $(TSAN_FLAGS) -o $@ $(TSAN_OBJ) $(PKG_LIBS)

build/tsan/tests/%: tests/unit/%.c $(TSAN_CORE) $(TEST_HDRS)
	@mkdir -p $(@D)
	$(CC) $(MB_CFLAGS) -O1 -g $(TSAN_FLAGS) -iquote src -o $@ $< $(TSAN_CORE) $(TEST_LIBS) -lcmocka

tsan: build/tsan/mambaboot $(TSAN_UNITS:%=build/tsan/tests/%)
	@for t in $(TSAN_UNITS); do \
	  TSAN_OPTIONS=halt_on_error=1 build/tsan/tests/$$t > build/tsan/$$t.out 2>&1 && \
	    echo "$$t: passed" || { cat build/tsan/$$t.out; exit 1; }; done
	@TSAN_OPTIONS=halt_on_error=1 tests/run.sh --bin build/tsan/mambaboot --unit build/tsan/tests $(TSAN_SUITES)

# libFuzzer targets (clang), each run for FUZZ_SECONDS on its seed corpus.
build/fuzz/%: tests/fuzz/%.c $(CORE_SRC)
	@mkdir -p $(@D)
	clang -std=c11 -pthread -D_POSIX_C_SOURCE=200809L -DMB_VERSION_STRING='"$(VERSION)"' $(PKG_CFLAGS) -g -O1 \
	  -fsanitize=fuzzer,address,undefined -iquote src -o $@ $< $(CORE_SRC) $(PKG_LIBS)

fuzz: $(FUZZ_BIN)
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

# One static x86_64 executable (musl), for any Linux from 3.10 on: the
# libraries come from Debian's source packages, built once outside the
# tree by scripts/static-deps.sh, which prints where they are.
STATIC_CC   ?= musl-gcc
STATIC_OBJ  := $(patsubst src/%.c,build/static/obj/%.o,$(sort $(wildcard src/*.c)) src/link/linked.c)
STATIC_PC    = PKG_CONFIG_LIBDIR=$(STATIC_ROOT)/lib/pkgconfig pkg-config --static
STATIC_MUSL := $(shell dpkg-query -W -f='$${Version}' musl-tools 2>/dev/null)

static:
	@root=$$(scripts/static-deps.sh) && \
	  $(MAKE) --no-print-directory build/static/mambaboot STATIC_ROOT=$$root

# The libraries' stamp: new libraries (another KEY) rebuild and relink.
STATIC_STAMP = $(STATIC_ROOT)/../done

build/static/obj/%.o: src/%.c $(STATIC_STAMP)
	@test -n "$(STATIC_ROOT)" || { echo "use 'make static'" >&2; exit 1; }
	@mkdir -p $(@D)
	$(STATIC_CC) $(filter-out $(PKG_CFLAGS),$(MB_CFLAGS)) -I$(STATIC_ROOT)/include \
	  -DMB_BUILD_KIND='"static, musl $(STATIC_MUSL)"' $(CFLAGS) -MMD -MP -c -o $@ $<

build/static/mambaboot: $(STATIC_OBJ) $(STATIC_STAMP)
	$(STATIC_CC) -static $(CFLAGS) $(LDFLAGS) -o $@ $(STATIC_ROOT)/lib/mimalloc.o $(STATIC_OBJ) \
	  $$($(STATIC_PC) --libs libcurl libarchive libcrypto yaml-0.1 jansson) -lbz2 -pthread

# The release: the static binary, the man page and share/mambaboot, with
# a SHA256SUMS, in mambaboot-VERSION-x86_64-linux.tar.gz.
DIST := mambaboot-$(VERSION)-x86_64-linux
dist: static
	rm -rf build/dist-stage
	$(MAKE) --no-print-directory install INSTALL_BIN=build/static/mambaboot PREFIX= \
	  DESTDIR=build/dist-stage/$(DIST)
	@scripts/make-dist.sh build/dist-stage/$(DIST) build/$(DIST).tar.gz

bench: mambaboot
	@tests/bench/run.sh

# INSTALL_BIN: the binary to install (make dist installs the static one).
INSTALL_BIN ?= mambaboot
install: $(filter mambaboot,$(INSTALL_BIN))
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/mambaboot
	install -m 755 $(INSTALL_BIN) $(DESTDIR)$(PREFIX)/bin/mambaboot
	install -m 644 share/man/man1/mambaboot.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	cp -R recipes recipes-host patches $(DESTDIR)$(PREFIX)/share/mambaboot/
	if [ -d share/mambaboot ]; then cp -R share/mambaboot/. $(DESTDIR)$(PREFIX)/share/mambaboot/; fi

clean:
	rm -rf build mambaboot tests/out

-include $(OBJ:.o=.d) $(ASAN_OBJ:.o=.d) $(TSAN_OBJ:.o=.d) $(STATIC_OBJ:.o=.d)
