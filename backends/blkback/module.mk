# pvio-blkback: the block backend daemon (blk helper).
BLKBACK_CORE_SRCS := backends/blkback/blkback_validate.c \
	backends/blkback/blkback_backing.c \
	backends/blkback/blkback_engine_uring.c \
	backends/blkback/blkback_engine_aio.c

TEST_PROGRAMS += test_blkback_validate
test_blkback_validate_SRCS := tests/unit/test_blkback_validate.c \
	backends/blkback/blkback_validate.c
test_blkback_validate_LDLIBS := -lcmocka
UNIT_TESTS += $(TESTDIR)/test_blkback_validate

TEST_PROGRAMS += test_blkback_pgrant
test_blkback_pgrant_SRCS := tests/unit/test_blkback_pgrant.c \
	backends/blkback/blkback_pgrant.c
test_blkback_pgrant_LDLIBS := -lcmocka
UNIT_TESTS += $(TESTDIR)/test_blkback_pgrant

TEST_PROGRAMS += test_blkback_engine
test_blkback_engine_SRCS := tests/unit/test_blkback_engine.c $(BLKBACK_CORE_SRCS)
test_blkback_engine_LDLIBS := -lcmocka -luring -laio
UNIT_TESTS += $(TESTDIR)/test_blkback_engine

PROGRAMS += pvio-blkback
pvio-blkback_SRCS := $(BLKBACK_CORE_SRCS) \
	backends/blkback/blkback_ring.c backends/blkback/blkback_pgrant.c \
	backends/blkback/blkback_front.c \
	backends/blkback/blkback_xenbus.c \
	backends/blkback/blkback_main.c
pvio-blkback_LDLIBS := -luring -laio

TEST_PROGRAMS += blk_test blk_hostile blk_attack
blk_attack_SRCS := tests/integration/blk_attack.c tests/integration/blk_raw.c
blk_test_SRCS := tests/integration/blk_test.c
blk_hostile_SRCS := tests/integration/blk_hostile.c tests/integration/blk_raw.c
INTEGRATION_TESTS += tests/integration/blk_integrity.sh \
	tests/integration/blk_features.sh tests/integration/blk_restart.sh \
	tests/integration/blk_hostile.sh tests/integration/blk_attach.sh \
	tests/integration/blk_attack_stale.sh \
	tests/integration/blk_attack_stale_ind.sh \
	tests/integration/blk_attack_dupind.sh \
	tests/integration/blk_attack_flood.sh

# user-space blkfront library (frontends/user/blkfront_*)
LIBPVIO_SRCS += frontends/user/blkfront_ring.c frontends/user/blkfront_xenbus.c

# pvio bench blk (perf/blkbench*): generator, native and pvio targets, fio
pvio_SRCS += perf/blkbench.c perf/blkbench_gen.c perf/blkbench_targets.c
pvio_LDLIBS += -luring

# fuzz harness of the block parsers; without libFuzzer it runs a smoke campaign
TEST_PROGRAMS += fuzz_blk
fuzz_blk_SRCS := tests/fuzz/fuzz_blk.c backends/blkback/blkback_validate.c \
	tools/xlcfg/xlcfg.c tools/xlcfg/xlcfg_disk.c
UNIT_TESTS += $(TESTDIR)/fuzz_blk
FUZZ_TARGETS += fuzz_blk

# fuzz harness of the whole ring pass over simulated guest memory; without
# libFuzzer it runs a smoke campaign as a unit test
TEST_PROGRAMS += fuzz_blkback_ring
fuzz_blkback_ring_SRCS := tests/fuzz/fuzz_blkback_ring.c tests/fuzz/fuzz_guest.c \
	backends/blkback/blkback_ring.c backends/blkback/blkback_pgrant.c \
	backends/blkback/blkback_front.c backends/blkback/blkback_validate.c \
	grant/gnttab_entry.c
UNIT_TESTS += $(TESTDIR)/fuzz_blkback_ring
FUZZ_TARGETS += fuzz_blkback_ring

# fuzz harness of the user-space frontends' response handling (blkfront and
# netfront rings written by a hostile backend); without libFuzzer it runs a
# smoke campaign as a unit test
TEST_PROGRAMS += fuzz_front_rsp
fuzz_front_rsp_SRCS := tests/fuzz/fuzz_front_rsp.c \
	frontends/user/blkfront_ring.c frontends/user/netfront_ring.c \
	frontends/user/netfront_offload.c
UNIT_TESTS += $(TESTDIR)/fuzz_front_rsp
FUZZ_TARGETS += fuzz_front_rsp
