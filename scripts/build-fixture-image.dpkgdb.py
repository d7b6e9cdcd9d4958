#!/usr/bin/env python3
# Copied from shared/corpus/dpkgdb.py (Proofline corpus tooling), unchanged below this notice;
# used by scripts/build-fixture-image.sh to write the fixture image's dpkg database.
"""Write a real dpkg database for debs that were extracted (dpkg-deb -x) into a rootfs.

Usage:
  dpkgdb.py status  ROOTFS DEB...   # /var/lib/dpkg/status (+ info/*.list, *.md5sums, *.conffiles, scripts)
                                    # entries already in an existing status file are kept (layered images)
  dpkgdb.py statusd ROOTFS DEB...   # distroless style: /var/lib/dpkg/status.d/<pkg> (+ <pkg>.md5sums)

No maintainer script is run. Field order in 'status' follows dpkg's own writer
(lib/dpkg/parse.c fieldinfos[]), 'Status: install ok installed' is inserted, and
Conffiles carry the md5 of the file as extracted, as dpkg does.
"""
import hashlib
import io
import os
import subprocess
import sys
import tarfile

# dpkg's fixed field order; any other field keeps its control-file order after these.
DPKG_ORDER = [
    "Package", "Essential", "Protected", "Status", "Priority", "Section", "Installed-Size",
    "Origin", "Maintainer", "Bugs", "Architecture", "Multi-Arch", "Source", "Version",
    "Config-Version", "Replaces", "Provides", "Depends", "Pre-Depends", "Recommends",
    "Suggests", "Breaks", "Conflicts", "Enhances", "Conffiles", "Filename", "Size", "MD5sum",
    "MSDOS-Filename", "Description", "Triggers-Pending", "Triggers-Awaited",
]


def parse_stanza(text):
    """Return list of (field, value) with continuation lines kept verbatim."""
    fields = []
    for line in text.splitlines():
        if not line:
            continue
        if line[0] in " \t" and fields:
            k, v = fields[-1]
            fields[-1] = (k, v + "\n" + line)
        else:
            k, _, v = line.partition(":")
            fields.append((k, v.strip() if "\n" not in v else v))
    return fields


def fmt_stanza(fields):
    out = []
    for k, v in fields:
        if v.startswith("\n"):
            out.append(f"{k}:{v}")
        else:
            out.append(f"{k}: {v}")
    return "\n".join(out) + "\n"


def ctrl_members(deb):
    raw = subprocess.run(["dpkg-deb", "--ctrl-tarfile", deb], check=True, capture_output=True).stdout
    members = {}
    with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
        for m in tf.getmembers():
            if m.isfile():
                members[os.path.basename(m.name)] = (tf.extractfile(m).read(), m.mode)
    return members


def data_paths(deb):
    """Paths as dpkg writes them in info/<pkg>.list: '/.', then every entry, no trailing slash."""
    raw = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], check=True, capture_output=True).stdout
    paths = []
    with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
        for m in tf.getmembers():
            p = m.name
            if p.startswith("./"):
                p = p[1:]
            p = p.rstrip("/")
            paths.append(p if p else "/.")
    if "/." in paths:
        paths.remove("/.")
    return ["/."] + paths


def md5_of(rootfs, path):
    full = os.path.join(rootfs, path.lstrip("/"))
    try:
        with open(full, "rb") as f:
            return hashlib.md5(f.read()).hexdigest()
    except OSError:
        return "newconffile"


def main():
    mode, rootfs, debs = sys.argv[1], sys.argv[2], sys.argv[3:]
    admin = os.path.join(rootfs, "var/lib/dpkg")
    os.makedirs(admin, exist_ok=True)
    entries = {}
    status_path = os.path.join(admin, "status")
    if mode == "status" and os.path.exists(status_path):
        with open(status_path) as f:
            for st in f.read().split("\n\n"):
                if st.strip():
                    flds = parse_stanza(st)
                    d = dict(flds)
                    entries[(d["Package"], d.get("Architecture", ""))] = fmt_stanza(flds)
    for deb in debs:
        ctrl = ctrl_members(deb)
        control = ctrl["control"][0].decode()
        flds = parse_stanza(control)
        d = dict(flds)
        pkg, arch = d["Package"], d.get("Architecture", "")
        infoname = f"{pkg}:{arch}" if d.get("Multi-Arch") == "same" else pkg
        if mode == "statusd":
            sd = os.path.join(admin, "status.d")
            os.makedirs(sd, exist_ok=True)
            with open(os.path.join(sd, pkg), "w") as f:
                f.write(control if control.endswith("\n") else control + "\n")
            if "md5sums" in ctrl:
                with open(os.path.join(sd, pkg + ".md5sums"), "wb") as f:
                    f.write(ctrl["md5sums"][0])
            continue
        conffiles = []
        if "conffiles" in ctrl:
            for line in ctrl["conffiles"][0].decode().splitlines():
                line = line.strip()
                if line.startswith("remove-on-upgrade "):
                    continue
                if line:
                    conffiles.append(line)
        fmap = dict(flds)
        fmap["Status"] = "install ok installed"
        if conffiles:
            fmap["Conffiles"] = "\n" + "\n".join(f" {c} {md5_of(rootfs, c)}" for c in conffiles)
        ordered = [(k, fmap[k]) for k in DPKG_ORDER if k in fmap]
        ordered += [(k, v) for k, v in flds if k not in DPKG_ORDER]
        entries[(pkg, arch)] = fmt_stanza(ordered)
        info = os.path.join(admin, "info")
        os.makedirs(info, exist_ok=True)
        with open(os.path.join(info, infoname + ".list"), "w") as f:
            f.write("\n".join(data_paths(deb)) + "\n")
        for name, (data, mode_bits) in ctrl.items():
            if name == "control":
                continue
            dst = os.path.join(info, f"{infoname}.{name}")
            with open(dst, "wb") as f:
                f.write(data)
            os.chmod(dst, mode_bits & 0o777)
    if mode == "status":
        with open(status_path, "w") as f:
            f.write("".join(entries[k] + "\n" for k in sorted(entries)))
        for extra in ("available", "diversions", "statoverride", "lock", "cmethopt"):
            p = os.path.join(admin, extra)
            if not os.path.exists(p):
                open(p, "w").close()
        for sub in ("alternatives", "parts", "triggers", "updates"):
            os.makedirs(os.path.join(admin, sub), exist_ok=True)
        # multiarch-aware db layout marker: without it dpkg ignores info/<pkg>:<arch>.*
        with open(os.path.join(admin, "info", "format"), "w") as f:
            f.write("1\n")


if __name__ == "__main__":
    main()
