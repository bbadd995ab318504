# User-space frontends for process domains (part of libpvio), and
# pvio-netfront-tap, a process domain exposing its vif as a TAP device.
FRONTEND_USER_SRCS := frontends/user/blkfront_ring.c \
	frontends/user/blkfront_xenbus.c frontends/user/netfront_ring.c \
	frontends/user/netfront_xenbus.c

PROGRAMS += pvio-netfront-tap
# --create attaches the vif as the toolstack does (pvio/vif.h)
pvio-netfront-tap_SRCS = frontends/user/netfront_tap_main.c $(TOOLS_VIF_SRCS)
pvio-netfront-tap_LDLIBS := -luring
