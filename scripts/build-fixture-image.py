#!/usr/bin/env python3
"""Helper of scripts/build-fixture-image.sh: installs the PyPI and npm packages into a staging
tree and writes the OCI image layout of fixtures/images/app, byte-for-byte reproducibly.

  build-fixture-image.py python-install WHEEL SITE_PACKAGES
      unpack a wheel as pip would (files checked against the wheel's RECORD), add INSTALLER and
      REQUESTED and rewrite RECORD with their hashes
  build-fixture-image.py npm-install LOCKFILE TGZ_DIR NODE_MODULES
      check each npm tarball against the lockfile's integrity (sha512), unpack it as
      node_modules/<name>
  build-fixture-image.py oci OUT EPOCH LAYER...
      LAYER = COMPRESSION:STAGING_DIR:CREATED_BY (COMPRESSION gzip|zstd); writes OUT/oci-layout,
      OUT/index.json (tag 1.0) and OUT/blobs/sha256/*

Reproducible: tar entries sorted by path, mtime = EPOCH, numeric owners (0:0, the app's files
10001:10001), no user/group names, gzip header mtime 0 and no file name, zstd without
threads; the same inputs give the same digests.
"""
import base64
import csv
import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import time
import zipfile

APP_UID = APP_GID = 10001
# Owners other than 0:0, by path relative to the root (a directory rule covers its contents).
OWNERS = {"app": (APP_UID, APP_GID), "home/app": (APP_UID, APP_GID), "etc/shadow": (0, 42)}

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}


def die(msg):
    sys.stderr.write(f"build-fixture-image.py: {msg}\n")
    sys.exit(1)


# ------------------------------------------------------------------ python-install
def record_hash(data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def python_install(wheel, site):
    os.makedirs(site, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        record_name = next((n for n in names if n.endswith(".dist-info/RECORD")), None)
        if record_name is None:
            die(f"{wheel} has no .dist-info/RECORD")
        dist_info = record_name.rsplit("/", 1)[0]
        rows = list(csv.reader(io.StringIO(zf.read(record_name).decode())))
        for path, digest, size in rows:
            if not digest:
                continue
            data = zf.read(path)
            if record_hash(data) != digest or str(len(data)) != size:
                die(f"{wheel}: {path} does not match its RECORD line")
        for name in names:
            if name.endswith("/"):
                continue
            dest = os.path.join(site, name)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, "wb") as f:
                f.write(zf.read(name))
            os.chmod(dest, 0o644)
    extra = {f"{dist_info}/INSTALLER": b"pip\n", f"{dist_info}/REQUESTED": b""}
    for rel, data in extra.items():
        with open(os.path.join(site, rel), "wb") as f:
            f.write(data)
        os.chmod(os.path.join(site, rel), 0o644)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        if row[0] == record_name:
            continue
        writer.writerow(row)
    for rel, data in extra.items():
        writer.writerow([rel, record_hash(data), str(len(data))])
    writer.writerow([record_name, "", ""])
    with open(os.path.join(site, record_name), "w") as f:
        f.write(out.getvalue())


# ------------------------------------------------------------------ npm-install
def npm_install(lockfile, tgz_dir, node_modules):
    with open(lockfile) as f:
        lock = json.load(f)
    for key, pkg in sorted(lock["packages"].items()):
        if not key.startswith("node_modules/"):
            continue
        name = key[len("node_modules/"):]
        tgz = os.path.join(tgz_dir, f"{name.replace('/', '-').lstrip('@')}-{pkg['version']}.tgz")
        with open(tgz, "rb") as f:
            data = f.read()
        algo, _, want = pkg["integrity"].partition("-")
        got = base64.b64encode(hashlib.new(algo, data).digest()).decode()
        if got != want:
            die(f"{tgz}: {algo} {got} does not match the lockfile's integrity {want}")
        dest = os.path.join(node_modules, name)
        os.makedirs(dest, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tf:
            for m in tf.getmembers():
                if not m.isfile():
                    continue
                parts = m.name.split("/", 1)
                if len(parts) != 2 or ".." in parts[1].split("/") or parts[1].startswith("/"):
                    die(f"{tgz}: unexpected entry {m.name}")
                out = os.path.join(dest, parts[1])
                os.makedirs(os.path.dirname(out), exist_ok=True)
                with open(out, "wb") as f:
                    f.write(tf.extractfile(m).read())
                os.chmod(out, 0o755 if m.mode & 0o111 else 0o644)


# ------------------------------------------------------------------ oci
def owner_of(rel):
    for prefix, owner in OWNERS.items():
        if rel == prefix or rel.startswith(prefix + "/"):
            return owner
    return (0, 0)


def walk_sorted(root):
    """Every path under root, relative, parents before children, sorted by path components."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            out.append(os.path.relpath(full, root))
    return sorted(out, key=lambda p: p.split(os.sep))


def layer_tar(root, epoch):
    buf = io.BytesIO()
    seen_inodes = {}
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for rel in walk_sorted(root):
            full = os.path.join(root, rel)
            st = os.lstat(full)
            info = tarfile.TarInfo(rel.replace(os.sep, "/"))
            info.mtime = epoch
            info.mode = stat.S_IMODE(st.st_mode)
            info.uid, info.gid = owner_of(info.name)
            info.uname = info.gname = ""
            data = None
            if stat.S_ISDIR(st.st_mode):
                info.type = tarfile.DIRTYPE
            elif stat.S_ISLNK(st.st_mode):
                info.type = tarfile.SYMTYPE
                info.linkname = os.readlink(full)
            elif stat.S_ISREG(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in seen_inodes:
                    info.type = tarfile.LNKTYPE
                    info.linkname = seen_inodes[key]
                else:
                    seen_inodes[key] = info.name
                    with open(full, "rb") as f:
                        data = f.read()
                    info.size = len(data)
            else:
                die(f"{full}: only files, directories and symlinks belong in the fixture")
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def compress(raw, how):
    if how == "gzip":
        out = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as gz:
            gz.write(raw)
        return out.getvalue()
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-19", "-T1", "-c"], input=raw, check=True,
                              capture_output=True).stdout
    die(f"unknown compression {how}")


def put_blob(out, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(out, "blobs", "sha256", digest)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def dump(obj):
    return json.dumps(obj, indent=2, ensure_ascii=False).encode() + b"\n"


def oci(out, epoch, layers):
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    descriptors, diff_ids, history = [], [], []
    for spec in layers:
        how, root, created_by = spec.split(":", 2)
        raw = layer_tar(root, epoch)
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        descriptors.append({"mediaType": MEDIA_LAYER[how], **put_blob(out, compress(raw, how))})
        history.append({"created": created, "created_by": created_by})
    history += [
        {"created": created, "created_by": "USER 10001:10001", "empty_layer": True},
        {"created": created, "created_by": 'ENTRYPOINT ["/usr/local/bin/node"]', "empty_layer": True},
    ]
    config = {
        "created": created,
        "author": "Proofline fixtures",
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "User": "10001:10001",
            "ExposedPorts": {"8080/tcp": {}},
            "Env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "NODE_ENV=production",
                "PYTHONPATH=/usr/local/lib/python3.11/site-packages",
                "API_TOKEN=fixture-not-a-secret",
            ],
            "Entrypoint": ["/usr/local/bin/node"],
            "Cmd": ["/app/index.js"],
            "WorkingDir": "/app",
            "Labels": {
                "org.opencontainers.image.title": "proofline-fixture-app",
                "org.opencontainers.image.description": "Proofline test fixture built from real Debian, PyPI and npm packages",
                "org.opencontainers.image.version": "1.0",
                "org.opencontainers.image.licenses": "Apache-2.0",
                "org.opencontainers.image.source": "https://github.com/proofline/proofline",
                "org.opencontainers.image.created": created,
            },
            "StopSignal": "SIGTERM",
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    config_desc = {"mediaType": MEDIA_CONFIG, **put_blob(out, dump(config))}
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": config_desc,
        "layers": descriptors,
        "annotations": {"org.opencontainers.image.created": created},
    }
    manifest_desc = {"mediaType": MEDIA_MANIFEST, **put_blob(out, dump(manifest))}
    manifest_desc["platform"] = {"architecture": "amd64", "os": "linux"}
    manifest_desc["annotations"] = {"org.opencontainers.image.ref.name": "1.0"}
    index = {"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": [manifest_desc]}
    with open(os.path.join(out, "index.json"), "wb") as f:
        f.write(dump(index))
    with open(os.path.join(out, "oci-layout"), "wb") as f:
        f.write(dump({"imageLayoutVersion": "1.0.0"}))
    print(manifest_desc["digest"])


def main():
    if len(sys.argv) < 2:
        die(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "python-install" and len(args) == 2:
        python_install(*args)
    elif cmd == "npm-install" and len(args) == 3:
        npm_install(*args)
    elif cmd == "oci" and len(args) >= 3:
        oci(args[0], int(args[1]), args[2:])
    else:
        die(__doc__)


if __name__ == "__main__":
    main()
