# A pure-Python wheel from a folder of packages, for tests whose hosts have no package index.
# usage: make-wheel.py OUT_DIR NAME VERSION SRC_DIR [SCRIPT=module:function ...]
import base64
import hashlib
import os
import sys
import zipfile

out, name, version, src, *scripts = sys.argv[1:]
dist = f"{name}-{version}.dist-info"
records = []


def add(z, arc, data):
    z.writestr(arc, data)
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    records.append(f"{arc},sha256={digest},{len(data)}")


with zipfile.ZipFile(os.path.join(out, f"{name}-{version}-py3-none-any.whl"), "w", zipfile.ZIP_DEFLATED) as z:
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for f in sorted(files):
            with open(os.path.join(root, f), "rb") as fh:
                add(z, os.path.relpath(os.path.join(root, f), src), fh.read())
    add(z, f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode())
    add(z, f"{dist}/WHEEL", b"Wheel-Version: 1.0\nGenerator: slipway-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    if scripts:
        lines = "".join(s.replace("=", " = ", 1) + "\n" for s in scripts)
        add(z, f"{dist}/entry_points.txt", f"[console_scripts]\n{lines}".encode())
    records.append(f"{dist}/RECORD,,")
    z.writestr(f"{dist}/RECORD", "\n".join(records) + "\n")
