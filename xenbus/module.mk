# The store client library and the xenbus state machine (part of libpvio);
# the pvio-store daemon is in xenbus/store/.
XS_CLIENT_SRCS := xenbus/xs_client.c xenbus/xs_client_ops.c \
	xenbus/xs_client_ring.c xenbus/xenbus_state.c
