# Guest tier: QEMU guests booting Debian's kernel with our modules
# (scripts/guest-kernel, scripts/guest-image). Run with `make check-guest`.
GUEST_TESTS += tests/guest/test_boot_plain.sh
