# pygrub: a guest disk's kernel, initrd and command line from its own
# /boot, read without mounting (ext2/3/4 reader, GRUB config parser).
PYGRUB_SRCS := tools/pygrub/ext_fs.c tools/pygrub/grub_cfg.c \
	tools/pygrub/pygrub.c
pvio_SRCS += $(PYGRUB_SRCS)

TEST_PROGRAMS += pygrub_probe
pygrub_probe_SRCS := tests/unit/pygrub_probe.c $(PYGRUB_SRCS)
UNIT_TESTS += tests/unit/test_pygrub.sh

# fuzz harness of the image and config parsers; a smoke campaign in make check
TEST_PROGRAMS += fuzz_pygrub
fuzz_pygrub_SRCS := tests/fuzz/fuzz_pygrub.c $(PYGRUB_SRCS)
FUZZ_TARGETS += fuzz_pygrub
UNIT_TESTS += tests/unit/fuzz_pygrub.sh
GUEST_TESTS += tests/guest/test_vm_pygrub.sh
