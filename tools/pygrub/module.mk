# pygrub: a guest disk's kernel, initrd and command line from its own
# /boot, read without mounting (ext2/3/4 reader, GRUB config parser).
# PYGRUB_SRCS is also linked by its tests and fuzz harness.
PYGRUB_SRCS := tools/pygrub/ext_fs.c tools/pygrub/grub_cfg.c \
	tools/pygrub/pygrub.c
pvio_SRCS += $(PYGRUB_SRCS)
