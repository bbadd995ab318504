# Grant tables: entry rules (shared with pvio-hv), granting and mapping.
GRANT_SRCS := grant/gnttab_entry.c grant/gnttab_grant.c grant/gnttab_map.c
