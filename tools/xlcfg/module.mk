# xl's configuration language: config files and disk specs.
XLCFG_SRCS := tools/xlcfg/xlcfg.c tools/xlcfg/xlcfg_disk.c
pvio_SRCS += $(XLCFG_SRCS)
