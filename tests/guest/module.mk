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
	tests/guest/test_save_restore.sh
# disks beyond one host: a qcow2 overlay through qemu-storage-daemon; two
# hosts joined by a VXLAN overlay with a VM on each
GUEST_TESTS += tests/guest/test_blk_qcow2.sh tests/guest/test_net_overlay.sh
# a Ceph RBD image (make check-ceph: the test starts a cluster)
CEPH_TESTS += tests/guest/test_blk_rbd.sh
# an NBD export on another host whose server is killed during fio
# verify; live migration A->B->A between two hosts (fio verify, iperf3)
GUEST_TESTS += tests/guest/test_blk_nbd.sh tests/guest/test_migrate.sh
