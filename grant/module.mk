# Grant tables: entry rules and the pin-table protocol (shared with
# pvio-hv), granting and mapping.
GRANT_SRCS := grant/gnttab_entry.c grant/gnttab_pin.c grant/gnttab_grant.c \
	grant/gnttab_map.c
