# Guest tier: QEMU guests booting Debian's kernel with our modules
# (scripts/guest-kernel, scripts/guest-image). Run with `make check-guest`.
GUEST_TESTS += tests/guest/test_boot_plain.sh
GUEST_TESTS += tests/guest/test_vm_platform.sh

# pvio-hv's VM units, also linked alone by the platform contract test.
HV_VM_SRCS := hv/hv_ivshmem.c hv/hv_qmp.c hv/hv_vm_launch.c
# Marking a VM's events pending: hv and libpvio (dom0 notifies VMs itself).
LIBPVIO_SRCS += hv/hv_vm_platform.c

TEST_PROGRAMS += test_vm_platform
test_vm_platform_SRCS := tests/guest/test_vm_platform.c \
	tests/guest/test_vm_platform_store.c $(HV_VM_SRCS)

# VM domains in pvio-hv (hv/module.mk, included before this file, sets
# pvio-hv_SRCS; the VM type adds its files here).
pvio-hv_SRCS += $(HV_VM_SRCS) hv/hv_vm.c

GUEST_TESTS += tests/guest/test_vm_domain.sh
GUEST_TESTS += tests/guest/test_vm_create.sh
GUEST_TESTS += tests/guest/test_vm_teardown.sh
GUEST_TESTS += tests/guest/test_save_restore.sh
TEST_PROGRAMS += vm_client
vm_client_SRCS := tests/guest/vm_client.c

# `pvio console DOM`, `pvio vcpu-list`, `pvio vcpu-pin`
pvio_SRCS += tools/builtin_console.c tools/builtin_vcpu.c

# pvio bench --guest (perf/bench-guest) with short runs: JSON shape, PNG,
# nothing left behind.
GUEST_TESTS += tests/guest/test_bench_guest.sh

# pvio_blkfront: a VM's disks through pvio-blkback
GUEST_TESTS += tests/guest/test_blk_fs.sh
GUEST_TESTS += tests/guest/test_blk_restart.sh
GUEST_TESTS += tests/guest/test_blk_hotplug.sh
# a hostile backend in front of pvio_blkfront
GUEST_TESTS += tests/guest/test_blk_hostile_backend.sh
TEST_PROGRAMS += blk_evil_backend
blk_evil_backend_SRCS := tests/guest/blk_evil_backend.c

# pvio_netfront (frontends/linux/netfront): a VM's pvio vif end to end
GUEST_TESTS += tests/guest/test_net_basic.sh
GUEST_TESTS += tests/guest/test_net_hotplug.sh
GUEST_TESTS += tests/guest/test_net_two_guests.sh

# save, restore, live migration (tools/builtin_migrate.c); QMP client shared
pvio_SRCS += tools/builtin_migrate.c tools/migrate_core.c hv/hv_qmp.c
