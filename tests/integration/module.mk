# Integration tests: real daemons, process domains, real files, TAP devices
# and bridges in network namespaces the tests create.
TEST_PROGRAMS += hv_test hv_dm_args blk_test blk_hostile blk_attack \
	net_hostile net_test test_xs_client test_xs_domain
hv_test_SRCS := tests/integration/hv_test_main.c \
	tests/integration/hv_test_grants.c tests/integration/hv_test_evtchn.c \
	tests/integration/hv_test_cleanup.c tests/integration/hv_test_hostile.c
hv_dm_args_SRCS := tests/integration/hv_dm_args.c
blk_test_SRCS := tests/integration/blk_test.c
blk_hostile_SRCS := tests/integration/blk_hostile.c tests/integration/blk_raw.c
blk_attack_SRCS := tests/integration/blk_attack.c tests/integration/blk_raw.c
net_hostile_SRCS = tests/integration/net_hostile.c $(TOOLS_VIF_SRCS)
net_test_SRCS := tests/integration/net_test.c
test_xs_client_SRCS := tests/integration/test_xs_client.c
test_xs_domain_SRCS := tests/integration/test_xs_domain.c

INTEGRATION_TESTS += tests/integration/blk_integrity.sh \
	tests/integration/blk_multiqueue.sh tests/integration/blk_flush.sh \
	tests/integration/blk_discard.sh tests/integration/blk_readonly.sh \
	tests/integration/blk_sector4k.sh tests/integration/blk_restart.sh \
	tests/integration/blk_hostile.sh tests/integration/blk_attach.sh \
	tests/integration/scale_connect.sh \
	tests/integration/blk_hostile_backend.sh tests/integration/bench_blk.sh \
	tests/integration/bench_net.sh
# the four grant failures of blkback: stale persistent slot, the same as an
# indirect page, duplicate indirect pages in a batch, a shared cap used up
INTEGRATION_TESTS += tests/integration/blk_attack_stale.sh \
	tests/integration/blk_attack_stale_ind.sh \
	tests/integration/blk_attack_dupind.sh \
	tests/integration/blk_attack_flood.sh \
	tests/integration/blk_detach_early.sh
# disks beyond one host: NBD servers in another netns, QEMU formats through
# qemu-storage-daemon; Ceph RBD starts a cluster per test, in its own tier
# (make check-ceph)
INTEGRATION_TESTS += tests/integration/blk_nbd.sh tests/integration/blk_qdisk.sh
CEPH_TESTS += tests/integration/blk_rbd.sh
INTEGRATION_TESTS += tests/integration/net_ping.sh \
	tests/integration/net_transfer.sh tests/integration/net_mtu_isolation.sh \
	tests/integration/net_hostile.sh tests/integration/net_restart.sh \
	tests/integration/net_multiqueue.sh tests/integration/net_cli.sh \
	tests/integration/net_hostile_backend.sh tests/integration/net_overlay.sh
INTEGRATION_TESTS += tests/integration/hv_grants.sh \
	tests/integration/hv_evtchn.sh tests/integration/hv_cleanup.sh \
	tests/integration/hv_garbage.sh tests/integration/hv_cli.sh \
	tests/integration/hv_store_release.sh tests/integration/create_dm_args.sh
INTEGRATION_TESTS += $(TESTDIR)/test_xs_client \
	tests/integration/store_xen_tools.sh tests/integration/store_hostile.sh \
	tests/integration/store_durability.sh tests/integration/store_domain.sh

# the toolstack: hv's QMP client, the xl verbs and process lifecycles,
# block hotplug scripts, make install into a DESTDIR
TEST_PROGRAMS += qmp_client
qmp_client_SRCS = tests/integration/qmp_client.c hv/hv_qmp.c
qmp_client_LDLIBS = $(HV_VM_LDLIBS)
INTEGRATION_TESTS += tests/integration/qmp_client.sh \
	tests/integration/cli_verbs.sh tests/integration/blk_script.sh \
	tests/integration/install.sh
