# The pvio toolstack. Other directories append their builtin_<verb>.c files
# to pvio_SRCS from their own module.mk (always with +=).
PROGRAMS += pvio
pvio_SRCS += tools/pvio_main.c
pvio_LDLIBS += -ljansson
