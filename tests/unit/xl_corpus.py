#!/usr/bin/env python3
# pvio-timeout: 120
"""The xl corpus (tests/corpus): disk and vif specs and whole configs, each
with what xl makes of it, checked through `pvio create -n` (the plan as
JSON, nothing created) and, where Debian's libxlutil is installed
(build/tests/xl_oracle), against Xen's own parser. Exit 0 pass, 1 fail."""
import json
import os
import subprocess
import sys
import tempfile

TOP = os.environ.get("PVIO_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("PVIO_BUILD", os.path.join(TOP, "build"))
PVIO = os.path.join(BUILD, "bin", "pvio")
ORACLE = os.path.join(BUILD, "tests", "xl_oracle")
CORPUS = os.path.join(TOP, "tests", "corpus")
# fields both pvio's JSON and the oracle report for a disk
ORACLE_DISK_KEYS = ["target", "format", "vdev", "access", "devtype",
                    "backendtype", "script", "backend", "discard",
                    "direct-io-safe"]

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def read_entries(path):
    """spec:/want:/xl:/oracle: blocks separated by blank lines."""
    entries, cur = [], None
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.startswith("#"):
                continue
            if not line.strip():
                if cur:
                    entries.append(cur)
                cur = None
                continue
            key, _, val = line.partition(":")
            if key == "spec":
                cur = {"spec": val[1:] if val.startswith(" ") else val}
            elif cur is not None and key in ("want", "xl", "oracle"):
                cur[key] = cur.get(key, "") + (" " if key in cur else "") + \
                    val.strip()
            else:
                raise SystemExit("%s: bad line %r" % (path, line))
    if cur:
        entries.append(cur)
    for e in entries:
        if "want" not in e or "xl" not in e:
            raise SystemExit("%s: entry %r lacks want: or xl:" %
                             (path, e["spec"]))
    return entries


def as_text(v):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def lookup(obj, dotted):
    for part in dotted.split("."):
        if isinstance(obj, list):
            if not part.isdigit() or int(part) >= len(obj):
                return KeyError
            obj = obj[int(part)]
        elif isinstance(obj, dict):
            if part not in obj:
                return KeyError
            obj = obj[part]
        else:
            return KeyError
    return obj


# keys whose value is the rest of the line (put them last)
LONG_KEYS = ("refused", "cmdline", "program", "bootloader_args.args")


def parse_want(want):
    """'k=v k2=v2 refused=some text' -> dict. A word without '=' continues
    the value before it; a LONG_KEYS value takes the rest of the line."""
    out, key = {}, None
    for word in want.split(" "):
        k, eq, v = word.partition("=")
        if key and (key.split(".")[-1] in LONG_KEYS or key in LONG_KEYS or
                    not eq):
            out[key] += " " + word
        elif eq:
            key = k
            out[key] = v
    return out


def create_n(cfg_text, extra=()):
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as f:
        f.write(cfg_text)
        path = f.name
    try:
        p = subprocess.run([PVIO, "create", "-n", path] + list(extra),
                           capture_output=True, text=True, timeout=20)
    finally:
        os.unlink(path)
    plan = json.loads(p.stdout) if p.stdout.strip() else None
    return p.returncode, plan, p.stderr


def quote(spec):
    return '"' + spec.replace("\\", "\\\\").replace('"', '\\"') + '"'


def oracle_lines(mode, lines):
    if not os.access(ORACLE, os.X_OK):
        return None
    p = subprocess.run([ORACLE, mode], input="".join(l + "\n" for l in lines),
                       capture_output=True, text=True, timeout=60)
    return [json.loads(l) for l in p.stdout.splitlines()]


def check_device(kind, e, oracle):
    spec, want = e["spec"], e["want"]
    rc, plan, err = create_n('name = "corpus"\ntype = "pvh"\nkernel = "/k"\n'
                             '%s = [ %s ]\n' % (kind, quote(spec)))
    label = "%s %r" % (kind, spec)
    if want.startswith("error "):
        text = want[6:]
        if rc == 0 or plan is not None:
            fail("%s: accepted, want the error '%s'" % (label, text))
        elif text not in err:
            fail("%s: error %r lacks %r" % (label, err.strip(), text))
    else:
        w = parse_want(want)
        if plan is None:
            fail("%s: refused: %s" % (label, err.strip()))
            return
        dev = plan["devices"][kind][0]
        for k, v in w.items():
            got = lookup(dev, k)
            if k == "refused":
                if got is KeyError or v not in got:
                    fail("%s: refused=%r, want it to say %r" %
                         (label, got, v))
            elif got is KeyError or as_text(got) != v:
                fail("%s: %s=%r, want %r" % (label, k,
                     None if got is KeyError else as_text(got), v))
        if "refused" not in w and "refused" in dev:
            fail("%s: refused (%s)" % (label, dev["refused"]))
        if ("refused" in dev) != (rc != 0):
            fail("%s: exit %d with refused=%r" % (label, rc,
                                                   dev.get("refused")))
    if oracle is None or "oracle" in e:
        return
    if kind == "disk":
        if want.startswith("error "):
            if oracle["ok"]:
                fail("%s: xl's parser accepts it: %s" % (label, oracle))
            return
        if not oracle["ok"]:
            fail("%s: xl's parser refuses it" % label)
            return
        for k in ORACLE_DISK_KEYS:
            if as_text(dev.get(k)) != as_text(oracle.get(k)):
                fail("%s: %s: pvio %r, xl %r" % (label, k, dev.get(k),
                                                 oracle.get(k)))
    elif kind == "vif" and oracle is not False:
        if want.startswith("error "):
            if oracle["ok"]:
                fail("%s: xl's rate parser accepts it" % label)
        elif not oracle["ok"]:
            fail("%s: xl's rate parser refuses it" % label)
        else:
            for k in ("bytes-per-interval", "interval-us"):
                if dev["rate"][k] != oracle[k]:
                    fail("%s: rate %s: pvio %r, xl %r" %
                         (label, k, dev["rate"][k], oracle[k]))


def check_specs(kind, fname):
    entries = read_entries(os.path.join(CORPUS, fname))
    if kind == "disk":
        orc = oracle_lines("disk", [e["spec"] for e in entries])
    else:
        rates = [e for e in entries if e["spec"].startswith("rate=")]
        got = oracle_lines("rate", [e["spec"][5:] for e in rates])
        orc = None if got is None else \
            [got[rates.index(e)] if e in rates else False for e in entries]
    for i, e in enumerate(entries):
        check_device(kind, e, None if orc is None else orc[i])
    return len(entries)


def check_configs():
    cdir = os.path.join(CORPUS, "configs")
    names = sorted(n for n in os.listdir(cdir) if n.endswith(".cfg"))
    for n in names:
        path = os.path.join(cdir, n)
        want, meaning = {}, ""
        with open(path) as f:
            for line in f:
                if line.startswith("# want:"):
                    for k, v in parse_want(line[7:].strip()).items():
                        want[k] = v
                elif line.startswith("# xl:"):
                    meaning += line[5:]
        if not want or not meaning:
            fail("%s: no '# want:' or '# xl:' lines" % n)
            continue
        p = subprocess.run([PVIO, "create", "-n", path], capture_output=True,
                           text=True, timeout=20)
        plan = json.loads(p.stdout) if p.stdout.strip() else None
        if str(p.returncode) != want.pop("exit", "0"):
            fail("%s: exit %d: %s" % (n, p.returncode, p.stderr.strip()))
        if plan is None:
            fail("%s: no plan printed: %s" % (n, p.stderr.strip()))
            continue
        for k, v in want.items():
            got = lookup(plan, k)
            if k == "ignored":
                missing = set(v.split(",")) - set(plan["ignored"])
                if missing:
                    fail("%s: not reported as ignored: %s" % (n, missing))
            elif k.endswith("refused"):
                if got is KeyError or v not in got:
                    fail("%s: %s=%r, want %r" % (n, k, got, v))
            elif got is KeyError or as_text(got) != v:
                fail("%s: %s=%r, want %r" % (n, k,
                     None if got is KeyError else as_text(got), v))
        if os.access(ORACLE, os.X_OK):
            o = subprocess.run([ORACLE, "cfg", path, "name", "memory",
                                "vcpus", "disk", "vif"], capture_output=True,
                               text=True, timeout=20)
            o = json.loads(o.stdout)
            if not o["ok"]:
                fail("%s: xl's parser refuses the file" % n)
                continue
            for k in ("name", "memory", "vcpus"):
                if k in o and as_text(o[k]) != as_text(plan.get(k)):
                    fail("%s: %s: pvio %r, xl %r" % (n, k, plan.get(k), o[k]))
            for k in ("disk", "vif"):
                mine = plan["devices"].get(k, [])
                if len(o.get(k, [])) != len(mine):
                    fail("%s: %d %s entries, xl reads %d" %
                         (n, len(mine), k, len(o.get(k, []))))
    return len(names)


def check_overrides():
    """xl's KEY=VALUE after the file, and += on a list."""
    base = 'name = "o"\ntype = "pvh"\nkernel = "/k"\nmemory = 128\n' \
           'disk = [ "/a,raw,xvda,w" ]\n'
    rc, plan, err = create_n(base, ["memory=512", 'disk+=["/b,raw,xvdb,w"]',
                                    'extra="quiet"; vcpus=2'])
    if rc or plan["memory"] != 512 or plan["vcpus"] != 2 or \
            [d["vdev"] for d in plan["devices"]["disk"]] != ["xvda", "xvdb"] \
            or plan["cmdline"] != "quiet":
        fail("overrides: %s %s" % (plan, err))
    rc, plan, err = create_n(base, ["memory="])
    if rc == 0 or "command line: missing value" not in err:
        fail("a bad override: %d %s" % (rc, err))


def main():
    if not os.access(PVIO, os.X_OK):
        print("SKIP: %s not built" % PVIO)
        return 77
    nd = check_specs("disk", "disk-specs.txt")
    nv = check_specs("vif", "vif-specs.txt")
    nc = check_configs()
    check_overrides()
    oracle = "compared with libxlutil" if os.access(ORACLE, os.X_OK) else \
        "libxlutil not installed: no comparison with xl"
    print("%d disk specs, %d vif specs, %d configs, %s: %d failure(s)" %
          (nd, nv, nc, oracle, len(failures)))
    if nd < 60 or nv < 25 or nc < 8:
        print("FAIL: the corpus shrank")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
