# pvio-hv, the hypervisor daemon. HV_VM_SRCS (QEMU VMs: launch, QMP,
# ivshmem server, platform region) and HV_EVTCHN_SRCS are also driven by
# tests on their own.
HV_VM_SRCS := hv/hv_ivshmem.c hv/hv_qmp.c hv/hv_vm_launch.c \
	hv/hv_vm_platform.c
HV_VM_LDLIBS := -ljansson
HV_EVTCHN_SRCS := hv/evtchn_table.c

# HV_CORE_SRCS: all of pvio-hv but main(); its fuzz harnesses drive it.
HV_CORE_SRCS := hv/hv_client.c hv/hv_domain.c hv/hv_gnttab.c \
	hv/hv_evtchn.c hv/hv_store.c hv/hv_vm.c $(HV_EVTCHN_SRCS) $(HV_VM_SRCS)

PROGRAMS += pvio-hv
pvio-hv_SRCS := hv/hv_main.c $(HV_CORE_SRCS)
pvio-hv_LDLIBS := $(HV_VM_LDLIBS)
