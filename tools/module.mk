# The pvio toolstack: one builtin_<verb>.c per verb or device class, which
# registers itself. TOOLS_VIF_SRCS (the vif device class, pvio/vif.h) is also
# linked by other dom0 programs.
TOOLS_VIF_SPEC_SRCS := tools/builtin_network_spec.c
TOOLS_VIF_SRCS := $(TOOLS_VIF_SPEC_SRCS) tools/builtin_network_store.c

PROGRAMS += pvio
pvio_SRCS += tools/pvio_main.c tools/builtin_up.c tools/builtin_down.c \
	tools/builtin_list.c tools/builtin_info.c tools/builtin_domctl.c \
	tools/builtin_create.c tools/domain_store.c tools/builtin_block.c \
	tools/builtin_network.c $(TOOLS_VIF_SRCS) tools/builtin_console.c \
	tools/builtin_vcpu.c tools/builtin_store.c tools/builtin_bench.c \
	tools/builtin_network_overlay.c \
	tools/builtin_domain.c tools/builtin_top.c tools/create_config.c
pvio_LDLIBS += -ljansson
# save, restore, live migration: QEMU's migration stream through hv's QMP
# client (hv/hv_qmp.c)
pvio_SRCS += tools/builtin_migrate.c tools/migrate_core.c \
	tools/migrate_store.c tools/migrate_relay.c tools/migrate_kept.c \
	tools/migrate_kept_text.c hv/hv_qmp.c
