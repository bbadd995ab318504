# Guest tests: QEMU guests booting Debian's kernel with our modules.
TEST_PROGRAMS += test_vm_platform vm_client blk_evil_backend net_evil_backend
test_vm_platform_SRCS = tests/guest/test_vm_platform.c \
	tests/guest/test_vm_platform_store.c $(HV_VM_SRCS)
test_vm_platform_LDLIBS = $(HV_VM_LDLIBS)
vm_client_SRCS := tests/guest/vm_client.c
blk_evil_backend_SRCS := tests/guest/blk_evil_backend.c
net_evil_backend_SRCS := tests/guest/net_evil_backend.c

GUEST_TESTS += tests/guest/test_boot_plain.sh tests/guest/test_vm_platform.sh \
	tests/guest/test_vm_domain.sh tests/guest/test_vm_create.sh \
	tests/guest/test_vm_teardown.sh tests/guest/test_bench_guest.sh \
	tests/guest/test_blk_fs.sh tests/guest/test_blk_restart.sh \
	tests/guest/test_blk_hotplug.sh tests/guest/test_blk_hostile_backend.sh \
	tests/guest/test_net_basic.sh tests/guest/test_net_hotplug.sh \
	tests/guest/test_net_two_guests.sh tests/guest/test_vm_pygrub.sh \
	tests/guest/test_net_hostile_backend.sh tests/guest/test_evtchn_direct.sh \
	tests/guest/test_save_restore.sh tests/guest/test_migrate.sh
