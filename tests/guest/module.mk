# Guest tier: QEMU guests booting Debian's kernel with our modules
# (scripts/guest-kernel, scripts/guest-image). Run with `make check-guest`.
GUEST_TESTS += tests/guest/test_boot_plain.sh
GUEST_TESTS += tests/guest/test_vm_platform.sh

# pvio-hv's VM units, also linked alone by the platform contract test.
HV_VM_SRCS := hv/hv_ivshmem.c hv/hv_qmp.c hv/hv_vm_launch.c hv/hv_vm_platform.c

TEST_PROGRAMS += test_vm_platform
test_vm_platform_SRCS := tests/guest/test_vm_platform.c $(HV_VM_SRCS)
