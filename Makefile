# pvio top-level Makefile: user space, tests, benchmarks and the guest modules.
#
# Each directory contributes a fragment `<dir>/module.mk` that appends to the
# variables below; this file only holds the shared rules.
#
#   LIBPVIO_SRCS      sources of build/lib/libpvio.a (every client links it;
#                     its manifest is libpvio/module.mk)
#   PROGRAMS          binaries installed in build/bin; NAME_SRCS, NAME_LDLIBS
#   TEST_PROGRAMS     test binaries built in build/tests; NAME_SRCS, NAME_LDLIBS
#   UNIT_TESTS        paths of unit tests to run (binaries, scripts)
#   INTEGRATION_TESTS paths of integration tests to run
#   GUEST_TESTS       paths of guest (QEMU) tests to run
#   CEPH_TESTS        tests that start a Ceph cluster (make check-ceph)
#   FUZZ_TARGETS      libFuzzer harnesses (built by `make fuzz` with clang)

.DEFAULT_GOAL := all
.SUFFIXES:

BUILD   ?= build
BINDIR  := $(BUILD)/bin
OBJDIR  := $(BUILD)/obj
LIBDIR  := $(BUILD)/lib
TESTDIR := $(BUILD)/tests

CC      ?= gcc
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wundef -Wvla \
	   -Wno-unused-parameter -Wno-missing-field-initializers
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARN) -Iinclude -Iring -D_GNU_SOURCE -pthread -MMD -MP \
	   $(EXTRA_CFLAGS)
LDLIBS  := -pthread

PROGRAMS :=
TEST_PROGRAMS :=
UNIT_TESTS :=
INTEGRATION_TESTS :=
GUEST_TESTS :=
CEPH_TESTS :=
FUZZ_TARGETS :=

include $(sort $(wildcard */module.mk */*/module.mk))

LIBPVIO := $(LIBDIR)/libpvio.a
obj = $(patsubst %.c,$(OBJDIR)/%.o,$(1))

# Objects are rebuilt when the flags change, e.g. when a library that
# enables an engine (libnbd, librbd) was installed after a first build.
FLAGS_STAMP := $(BUILD)/.cflags
$(shell mkdir -p $(BUILD); echo '$(CFLAGS)' | cmp -s - $(FLAGS_STAMP) || \
	echo '$(CFLAGS)' >$(FLAGS_STAMP))

$(OBJDIR)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIBPVIO): $(call obj,$(LIBPVIO_SRCS))
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

define program_rule
$(2)/$(1): $$(call obj,$$($(1)_SRCS)) $$(LIBPVIO)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) -o $$@ $$(call obj,$$($(1)_SRCS)) $$(LIBPVIO) $$($(1)_LDLIBS) $$(LDLIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call program_rule,$(p),$(BINDIR))))
$(foreach p,$(TEST_PROGRAMS),$(eval $(call program_rule,$(p),$(TESTDIR))))

ALL_BINS := $(addprefix $(BINDIR)/,$(PROGRAMS)) $(addprefix $(TESTDIR)/,$(TEST_PROGRAMS))

.PHONY: guest-prep all deps check check-unit check-integration check-guest check-ceph modules demo clean fuzz check-asan
all: $(LIBPVIO) $(ALL_BINS)

deps:
	scripts/install-deps

# Every tier; the runner's last line is "N passed, N failed, N skipped".
check: deps
	$(MAKE) all
	$(MAKE) modules
	$(MAKE) guest-prep
	tests/run-tests $(UNIT_TESTS) $(INTEGRATION_TESTS) $(GUEST_TESTS)

check-unit: all
	tests/run-tests $(UNIT_TESTS)
check-integration: all
	tests/run-tests $(INTEGRATION_TESTS)
check-guest: all modules guest-prep
	tests/run-tests $(GUEST_TESTS)
# Ceph RBD disks: each test starts a single-node cluster (scripts/ceph-cluster)
check-ceph: deps
	$(MAKE) all
	$(MAKE) modules
	$(MAKE) guest-prep
	tests/run-tests $(CEPH_TESTS)

# Sanitizer tier: the daemons, the library and every test program built
# with ASan and UBSan in $(ASAN_BUILD)/, then the unit tests (fuzz smoke
# campaigns included) and the integration tests run against them. A
# sanitizer report in a test's output or in a daemon's log fails the test.
ASAN_BUILD ?= build-asan
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	      -fno-sanitize-recover=undefined
asan_path = $(patsubst $(TESTDIR)/%,$(ASAN_BUILD)/tests/%,$(1))
check-asan: deps
	$(MAKE) BUILD=$(ASAN_BUILD) EXTRA_CFLAGS="$(ASAN_FLAGS)" all
	ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
		PVIO_BUILD_DIR=$(ASAN_BUILD) tests/run-tests \
		$(call asan_path,$(UNIT_TESTS) $(INTEGRATION_TESTS))

# The guest kernel (downloaded once) and the cached initramfs, made before
# the guest tests so that no test's time limit includes them.
guest-prep: modules
	scripts/guest-kernel >/dev/null
	scripts/guest-image >/dev/null

# Guest kernel modules, built by Kbuild against Debian's linux-headers-amd64
# (not the running kernel: the host cannot load modules).
KDIR ?= $(shell scripts/kernel-headers-dir)
modules:
	@test -n "$(KDIR)" || { echo "linux-headers-amd64 missing: run scripts/install-deps" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules
	@mkdir -p $(BUILD)/modules
	cp -f *.ko $(BUILD)/modules/

demo: deps
	$(MAKE) all
	$(MAKE) modules
	scripts/demo

# libFuzzer campaigns (clang, ASan + UBSan): `make fuzz` builds every
# harness in $(BUILD)/fuzz and runs each (tests/fuzz/run-fuzz) for
# FUZZ_SECONDS, or for FUZZ_RUNS executions if set; corpora stay in
# $(BUILD)/fuzz/NAME-corpus, findings land in $(BUILD)/fuzz/NAME-crashes,
# and one summary line per harness gives executions, cov and ft.
# `make fuzz-build` only builds. Without libFuzzer the same harnesses run
# as deterministic smoke tests in make check (UNIT_TESTS).
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?=
FUZZ_CC ?= clang
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer -DPVIO_LIBFUZZER -std=gnu11 \
	       -Iinclude -Iring -D_GNU_SOURCE -pthread -Wall -Wno-unused-parameter \
	       -Wno-missing-field-initializers -MMD -MP
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
fuzzobj = $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(1))
FUZZ_LIB := $(FUZZ_DIR)/libpvio.a

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_LIB): $(call fuzzobj,$(LIBPVIO_SRCS))
	rm -f $@
	$(AR) rcs $@ $^

define fuzz_rule
$(FUZZ_DIR)/$(1): $$(call fuzzobj,$$($(1)_SRCS)) $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $$@ \
		$$(call fuzzobj,$$($(1)_SRCS)) $(FUZZ_LIB) $$($(1)_LDLIBS) -pthread
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rule,$(t))))

.PHONY: fuzz-build
fuzz-build: $(addprefix $(FUZZ_DIR)/,$(FUZZ_TARGETS))

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_RUNS=$(FUZZ_RUNS) \
		tests/fuzz/run-fuzz $(FUZZ_DIR) $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD)
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean >/dev/null 2>&1

-include $(shell find $(OBJDIR) $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
