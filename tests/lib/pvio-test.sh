# Helpers for pvio's integration and guest tests (bash; source it): the run
# helpers of scripts/lib/pvio-run.sh (pt_init, pt_daemon, pt_netns,
# pt_on_exit, pt_fail ...) and a test's verdicts.
#
#   . "$PVIO_TOP/tests/lib/pvio-test.sh"
#   pt_skip MSG            # exit 77: the test cannot run here
#   pt_pass                # exit 0
#   pt_need_root           # skip unless root
#
# Everything a test starts is stopped and removed at exit, pass or fail.
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/pvio-run.sh"

pt_skip() { echo "SKIP: $*"; exit 77; }
pt_pass() { echo "PASS"; exit 0; }

pt_need_root() {
	[ "$(id -u)" -eq 0 ] || pt_skip "needs root"
}
