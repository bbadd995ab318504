#!/usr/bin/env python3
# Raw xenstore wire client for tests: sends hand-made (also malformed)
# messages to the daemon at $XENSTORED_PATH and prints what comes back.
#   xs_raw.py req TYPE ARG...     one request, args NUL-joined (WRITE: last
#                                 arg is the value, not NUL-terminated)
#   xs_raw.py hostile CASE        a misbehaving client (see below)
#   xs_raw.py stream PREFIX FILE  write PREFIX/d<i%64>/k<i> for i = 0, 1, ...
#                                 over one connection until it fails,
#                                 appending each acknowledged i to FILE
#   xs_raw.py check PREFIX FILE   read back every i of FILE: prints each
#                                 lost or wrong one, exits 1 if any
import os, socket, struct, sys, time

TYPES = dict(CONTROL=0, DIRECTORY=1, READ=2, GET_PERMS=3, WATCH=4,
             UNWATCH=5, TRANSACTION_START=6, TRANSACTION_END=7, INTRODUCE=8,
             RELEASE=9, GET_DOMAIN_PATH=10, WRITE=11, MKDIR=12, RM=13,
             SET_PERMS=14, WATCH_EVENT=15, ERROR=16, IS_DOMAIN_INTRODUCED=17,
             RESUME=18, SET_TARGET=19, RESET_WATCHES=21, DIRECTORY_PART=22)
NAMES = {v: k for k, v in TYPES.items()}


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(os.environ["XENSTORED_PATH"])
    return s


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b


def recv_msg(s):
    t, rid, tx, ln = struct.unpack("<IIII", recv_exact(s, 16))
    return t, rid, tx, recv_exact(s, ln)


def send(s, typ, payload, rid=1, tx=0):
    s.sendall(struct.pack("<IIII", typ, rid, tx, len(payload)) + payload)


def request(s, typ, payload, rid=1, tx=0):
    send(s, typ, payload, rid, tx)
    while True:
        t, r, _, p = recv_msg(s)
        if t != TYPES["WATCH_EVENT"]:
            return t, p


def payload_of(typ, args):
    a = [x.encode() for x in args]
    if typ == "WRITE":
        return b"\0".join(a[:-1]) + b"\0" + a[-1]
    return b"".join(x + b"\0" for x in a)


def alive():
    """A fresh client still gets served."""
    s = connect()
    t, p = request(s, TYPES["READ"], b"/tool/xenstored\0")
    s.close()
    return t == TYPES["READ"]


def expect_closed(s, timeout=5):
    s.settimeout(timeout)
    try:
        while True:
            if not s.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def hostile(case):
    s = connect()
    if case == "garbage":
        # random header with a huge length: connection dropped
        s.sendall(b"\xff" * 16 + b"junk")
        ok = expect_closed(s)
    elif case == "toolong":
        send(s, TYPES["WRITE"], b"/x\0" + b"v" * 4094)  # 4097 bytes
        ok = expect_closed(s)
    elif case == "badtype":
        t, p = request(s, 99, b"/x\0")
        ok = t == TYPES["ERROR"] and p == b"EINVAL\0"
        t, p = request(s, TYPES["READ"], b"/tool/xenstored\0")
        ok = ok and t == TYPES["READ"]
    elif case == "split":
        # a message dribbled one byte at a time still works
        msg = struct.pack("<IIII", TYPES["WRITE"], 5, 0, 7) + b"/split\0"
        msg += struct.pack("<IIII", TYPES["READ"], 6, 0, 7) + b"/split\0"
        for i in range(len(msg)):
            s.send(msg[i:i + 1])
            time.sleep(0.001)
        t1, r1, _, p1 = recv_msg(s)
        t2, r2, _, p2 = recv_msg(s)
        ok = (t1, r1, t2, r2) == (TYPES["WRITE"], 5, TYPES["READ"], 6)
    elif case == "watches":
        # 10 000 watches: refused beyond the quota, connection usable
        errs = 0
        for b in range(0, 10000, 500):
            for i in range(b, b + 500):
                send(s, TYPES["WATCH"], b"/hostile\0t%d\0" % i, rid=i)
            got = 0
            while got < 500:
                t, r, _, p = recv_msg(s)
                if t == TYPES["WATCH_EVENT"]:
                    continue
                got += 1
                if t == TYPES["ERROR"]:
                    errs += 1
        ok = errs == 10000 - 128
    elif case == "transactions":
        # transactions never ended: refused beyond the quota
        errs = 0
        for i in range(50):
            t, p = request(s, TYPES["TRANSACTION_START"], b"\0")
            if t == TYPES["ERROR"]:
                errs += 1
        ok = errs == 40
    elif case == "noread":
        # a watcher that never reads while events pile up: disconnected
        # once its queue passes the limit; the writer is never held up
        request(s, TYPES["WATCH"], b"/flood\0t\0")
        w = connect()
        for batch in range(800):
            for i in range(100):
                send(w, TYPES["WRITE"], b"/flood/n\0v", rid=i)
            for i in range(100):
                t, r, _, p = recv_msg(w)
                if t != TYPES["WRITE"]:
                    print("write failed", t, p)
                    return 1
        ok = peer_gone(s)
    elif case == "noreadreplies":
        # requests for a 4000-byte value, replies never read: the daemon
        # stops reading this client instead of queueing megabytes
        w = connect()
        request(w, TYPES["WRITE"], b"/bigval\0" + b"x" * 4000)
        msg = struct.pack("<IIII", TYPES["READ"], 1, 0, 8) + b"/bigval\0"
        s.setblocking(False)
        sent = 0
        deadline = time.time() + 3
        while time.time() < deadline:
            try:
                sent += s.send(msg * 64)
            except BlockingIOError:
                time.sleep(0.01)
        # ~24 bytes per request: without backpressure this would be
        # (sent / 24) * 4016 bytes of replies inside the daemon
        print("sent %d bytes of requests before being held back" % sent)
        ok = sent < 50 * 1024 * 1024 and alive()
    else:
        print("unknown case", case)
        return 2
    print("hostile %s: %s" % (case, "ok" if ok else "FAILED"))
    ok = ok and alive()
    return 0 if ok else 1


def peer_gone(s):
    """Drain what is queued without blocking: EOF at the end = closed."""
    s.setblocking(False)
    try:
        while True:
            d = s.recv(1 << 20)
            if not d:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def stream(prefix, ackfile):
    s = connect()
    i = 0
    with open(ackfile, "a", buffering=1) as acked:
        while True:
            path = "%s/d%d/k%d" % (prefix, i % 64, i)
            payload = path.encode() + b"\0" + (("v%d-" % i) * 8).encode()
            try:
                t, _ = request(s, TYPES["WRITE"], payload, rid=i + 1)
            except (EOFError, OSError):
                return 0
            if t != TYPES["WRITE"]:
                return 1
            acked.write("%d\n" % i)
            i += 1


def check(prefix, ackfile):
    s = connect()
    bad = 0
    with open(ackfile) as acked:
        for line in acked:
            i = int(line)
            path = "%s/d%d/k%d" % (prefix, i % 64, i)
            t, p = request(s, TYPES["READ"], path.encode() + b"\0")
            if t != TYPES["READ"] or p != (("v%d-" % i) * 8).encode():
                print("lost or wrong: %s (%s %r)" % (path, NAMES.get(t, t), p))
                bad += 1
    return 1 if bad else 0


def main():
    if sys.argv[1] == "check":
        return check(sys.argv[2], sys.argv[3])
    if sys.argv[1] == "stream":
        return stream(sys.argv[2], sys.argv[3])
    if sys.argv[1] == "req":
        typ = sys.argv[2]
        s = connect()
        t, p = request(s, TYPES[typ], payload_of(typ, sys.argv[3:]))
        print(NAMES.get(t, t), repr(p))
        return 0
    if sys.argv[1] == "hostile":
        return hostile(sys.argv[2])
    return 2


sys.exit(main())
