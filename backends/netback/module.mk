# pvio-netback: vifs on TAP devices and Linux bridges.
# NETBACK_RING_SRCS (the tx and rx passes and the queue) is also driven by
# its fuzz harness on its own.
NETBACK_RING_SRCS := backends/netback/netback_queue.c \
	backends/netback/netback_tx.c backends/netback/netback_rx.c

PROGRAMS += pvio-netback
pvio-netback_SRCS := backends/netback/netback_main.c \
	backends/netback/netback_xenbus.c $(NETBACK_RING_SRCS) \
	backends/netback/netback_tap.c
pvio-netback_LDLIBS := -luring
