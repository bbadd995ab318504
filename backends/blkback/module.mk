# pvio-blkback: the block backend daemon (blk helper).
BLKBACK_CORE_SRCS := backends/blkback/blkback_validate.c \
	backends/blkback/blkback_backing.c \
	backends/blkback/blkback_engine_uring.c \
	backends/blkback/blkback_engine_aio.c
BLKBACK_LDLIBS := -luring -laio

# Optional stores, compiled in when their library is there (Debian:
# libnbd-dev for NBD and qdisk, librbd-dev for Ceph RBD).
ifeq ($(shell pkg-config --exists libnbd 2>/dev/null && echo y),y)
CFLAGS += -DPVIO_HAVE_LIBNBD
BLKBACK_CORE_SRCS += backends/blkback/blkback_engine_nbd.c \
	backends/blkback/blkback_qdisk.c
BLKBACK_LDLIBS += $(shell pkg-config --libs libnbd)
endif
ifeq ($(shell test -f /usr/include/rbd/librbd.h && echo y),y)
CFLAGS += -DPVIO_HAVE_LIBRBD
BLKBACK_CORE_SRCS += backends/blkback/blkback_engine_rbd.c
BLKBACK_LDLIBS += -lrbd -lrados
endif

TEST_PROGRAMS += test_blkback_validate
test_blkback_validate_SRCS := tests/unit/test_blkback_validate.c \
	backends/blkback/blkback_validate.c
test_blkback_validate_LDLIBS := -lcmocka
UNIT_TESTS += $(TESTDIR)/test_blkback_validate

TEST_PROGRAMS += test_blkback_engine
test_blkback_engine_SRCS := tests/unit/test_blkback_engine.c $(BLKBACK_CORE_SRCS)
test_blkback_engine_LDLIBS := -lcmocka $(BLKBACK_LDLIBS)
UNIT_TESTS += $(TESTDIR)/test_blkback_engine

PROGRAMS += pvio-blkback
pvio-blkback_SRCS := $(BLKBACK_CORE_SRCS) \
	backends/blkback/blkback_ring.c \
	backends/blkback/blkback_xenbus.c \
	backends/blkback/blkback_main.c
pvio-blkback_LDLIBS := $(BLKBACK_LDLIBS)

# NBD servers in another netns, QEMU formats through qemu-storage-daemon
INTEGRATION_TESTS += tests/integration/blk_nbd.sh tests/integration/blk_qdisk.sh
# Ceph RBD: a cluster per test, in its own tier (make check-ceph)
CEPH_TESTS += tests/integration/blk_rbd.sh

TEST_PROGRAMS += blk_test blk_hostile
blk_test_SRCS := tests/integration/blk_test.c
blk_hostile_SRCS := tests/integration/blk_hostile.c
INTEGRATION_TESTS += tests/integration/blk_integrity.sh \
	tests/integration/blk_features.sh tests/integration/blk_restart.sh \
	tests/integration/blk_hostile.sh tests/integration/blk_attach.sh

# user-space blkfront library (frontends/user/blkfront_*)
LIBPVIO_SRCS += frontends/user/blkfront_ring.c frontends/user/blkfront_xenbus.c

# pvio bench blk (perf/blkbench*): generator, native and pvio targets, fio
pvio_SRCS += perf/blkbench.c perf/blkbench_gen.c perf/blkbench_targets.c \
	perf/blkbench_disk.c
pvio_LDLIBS += -luring

# fuzz harness of the block parsers; without libFuzzer it runs a smoke campaign
TEST_PROGRAMS += fuzz_blk
fuzz_blk_SRCS := tests/fuzz/fuzz_blk.c backends/blkback/blkback_validate.c \
	tools/xlcfg/xlcfg.c tools/xlcfg/xlcfg_disk.c
UNIT_TESTS += $(TESTDIR)/fuzz_blk
FUZZ_TARGETS += fuzz_blk
