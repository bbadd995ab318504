# pvio-netback: vifs on TAP devices and Linux bridges.
PROGRAMS += pvio-netback
pvio-netback_SRCS := backends/netback/netback_main.c \
	backends/netback/netback_xenbus.c backends/netback/netback_queue.c \
	backends/netback/netback_tx.c backends/netback/netback_rx.c \
	backends/netback/netback_tap.c
