#!/usr/bin/env python3
"""Migrate a QEMU VM with QEMU alone (the baseline of pvio bench migrate).

    migrate_qmp.py SRC_QMP DST_QMP URI [MAX_BANDWIDTH]
    migrate_qmp.py --cmd QMP COMMAND      (one command, e.g. stop or cont)

SRC_QMP and DST_QMP are the QMP sockets of the running source QEMU and of
the destination QEMU started with -incoming defer (and without -S, so that
it runs as soon as the state is in). Starts the incoming side on URI
(tcp:ADDR:PORT), migrates with QEMU's own parameters (downtime-limit left at
its default; max-bandwidth as given, bytes/s), waits for the end and prints
one JSON object: status, QEMU's downtime and total time (ms), and the time
from the source's STOP event to the destination's RESUME event (ms, host
clock). Exit status 0 only if the migration completed and the destination
runs.
"""
import json
import socket
import sys
import time


class Qmp:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.f = self.s.makefile("rw")
        self.events = []
        json.loads(self.f.readline())  # greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        line = self.f.readline()
        if not line:
            raise EOFError("QMP connection closed")
        return json.loads(line)

    def cmd(self, name, args=None):
        req = {"execute": name}
        if args is not None:
            req["arguments"] = args
        self.f.write(json.dumps(req) + "\n")
        self.f.flush()
        while True:
            msg = self._read()
            if "event" in msg:
                self.events.append(msg)
                continue
            if "error" in msg:
                raise RuntimeError("%s: %s" % (name, msg["error"]["desc"]))
            return msg.get("return")

    def event_time(self, name):
        for e in self.events:
            if e["event"] == name:
                ts = e["timestamp"]
                return ts["seconds"] + ts["microseconds"] / 1e6
        return None


def main():
    if sys.argv[1] == "--cmd":
        # the bench holds the other guest still while one moves
        Qmp(sys.argv[2]).cmd(sys.argv[3])
        return 0
    src_path, dst_path, uri = sys.argv[1:4]
    bw = int(sys.argv[4]) if len(sys.argv) > 4 else 4 << 30
    src, dst = Qmp(src_path), Qmp(dst_path)
    dst.cmd("migrate-incoming", {"uri": uri})
    src.cmd("migrate-set-parameters", {"max-bandwidth": bw})
    src.cmd("migrate", {"uri": uri})
    out = {"status": "failed"}
    deadline = time.time() + 600
    late = 0
    while time.time() < deadline:
        r = src.cmd("query-migrate")
        st = r.get("status")
        if st == "completed" and not r.get("downtime") and late < 50:
            # QEMU says completed a moment before its downtime is worked out
            late += 1
            time.sleep(0.001)
            continue
        if st in ("completed", "failed", "cancelled"):
            out["status"] = st
            out["downtime_ms"] = r.get("downtime")
            out["total_ms"] = r.get("total-time")
            # what QEMU sent with the guest stopped, and its passes
            ram = r.get("ram", {})
            out["downtime_bytes"] = ram.get("downtime-bytes")
            out["passes"] = ram.get("dirty-sync-count")
            if st != "completed":
                out["error"] = r.get("error-desc", "")
            break
        time.sleep(0.02)
    running = False
    if out["status"] == "completed":
        # the destination starts by itself once its state is in
        while time.time() < deadline:
            if dst.cmd("query-status").get("status") == "running":
                running = True
                break
            time.sleep(0.02)
        dst.cmd("query-status")  # collect the RESUME event
        stop, resume = src.event_time("STOP"), dst.event_time("RESUME")
        if stop and resume:
            out["stop_to_resume_ms"] = round((resume - stop) * 1000)
    out["running"] = running
    print(json.dumps(out))
    return 0 if out["status"] == "completed" and running else 1


if __name__ == "__main__":
    sys.exit(main())
