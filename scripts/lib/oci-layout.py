#!/usr/bin/env python3
"""oci-layout.py LAYOUT SRC DEST: writes an OCI image layout (tag `latest`, one gzip layer) holding
the file or directory SRC at the absolute path DEST. Shared by the cross-check scripts, so the
peer tools and Proofline read the same bytes."""
import gzip, hashlib, io, json, os, sys, tarfile
layout, src, dest = sys.argv[1:4]
blobs = os.path.join(layout, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)
def blob(data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
    parts = dest.strip("/").split("/")
    for i in range(1, len(parts)):
        info = tarfile.TarInfo("/".join(parts[:i]))
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
    tar.add(src, arcname=dest.strip("/"))
tar_bytes = raw.getvalue()
layer = blob(gzip.compress(tar_bytes, compresslevel=1, mtime=0))
config = blob(json.dumps({
    "architecture": "amd64", "os": "linux", "config": {},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar_bytes).hexdigest()]},
}).encode())
manifest_bytes = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}],
}).encode()
manifest = blob(manifest_bytes)
with open(os.path.join(layout, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
with open(os.path.join(layout, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest,
        "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}, f)
