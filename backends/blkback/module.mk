# pvio-blkback. BLKBACK_CORE_SRCS (backing files and I/O engines) is also
# unit-tested on its own.
BLKBACK_CORE_SRCS := backends/blkback/blkback_backing.c \
	backends/blkback/blkback_engine_uring.c \
	backends/blkback/blkback_engine_aio.c
BLKBACK_LDLIBS := -luring -laio

# BLKBACK_RING_SRCS (the data path: ring pass, persistent-grant tables,
# per-domain accounting) is also driven by its fuzz harness on its own.
BLKBACK_RING_SRCS := backends/blkback/blkback_ring.c \
	backends/blkback/blkback_pgrant.c backends/blkback/blkback_front.c

PROGRAMS += pvio-blkback
pvio-blkback_SRCS := $(BLKBACK_CORE_SRCS) $(BLKBACK_RING_SRCS) \
	backends/blkback/blkback_xenbus.c \
	backends/blkback/blkback_main.c
pvio-blkback_LDLIBS := $(BLKBACK_LDLIBS)
