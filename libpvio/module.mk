# libpvio.a, the client library every pvio program links: its core (hv
# connection, domains, event channels, RAM views, platform events, dm args)
# lives here. This fragment is the one manifest of the whole library: the
# other parts are named by the folders that own them (grant/, ring/,
# xenbus/, frontends/user/).
LIBPVIO_CORE_SRCS := libpvio/libpvio_conn.c libpvio/libpvio_dom.c \
	libpvio/libpvio_evtchn.c libpvio/libpvio_ram.c \
	libpvio/libpvio_platform.c libpvio/libpvio_dm_args.c \
	libpvio/libpvio_proc.c

LIBPVIO_SRCS = $(LIBPVIO_CORE_SRCS) $(GRANT_SRCS) $(RING_SRCS) \
	$(XS_CLIENT_SRCS) $(FRONTEND_USER_SRCS)
