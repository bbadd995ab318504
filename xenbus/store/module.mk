# pvio-store: the store daemon. STORE_CORE_SRCS is everything but the
# socket/ring front (unit tests and the fuzz harness drive it directly).
STORE_CORE_SRCS := xenbus/store/store_core.c xenbus/store/store_tree.c \
	xenbus/store/store_txn.c xenbus/store/store_watch.c \
	xenbus/store/store_conn.c xenbus/store/store_proto.c \
	xenbus/store/store_log.c

PROGRAMS += pvio-store
pvio-store_SRCS := $(STORE_CORE_SRCS) xenbus/store/store_domain.c \
	xenbus/store/store_main.c
