"""A tiny directory root filesystem for image tests, built offline from this host's own binaries (no registry)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

TOOLS = ("bash", "sh", "env", "id", "cat", "ls", "touch", "sleep", "grep", "wc", "head", "tr")


def build_rootfs(dest: Path, tools: tuple[str, ...] = TOOLS, marker: str = "") -> Path:
    """dest/{usr/bin,lib...} with these tools and the libraries ldd says they need; /bin -> usr/bin as on
    Debian; an /etc/os-release naming the image (so a job can tell it is inside)."""
    for d in ("usr/bin", "etc", "proc", "dev", "tmp", "run"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    os.symlink("usr/bin", dest / "bin")
    libs: set[str] = set()
    for tool in tools:
        src = shutil.which(tool)
        assert src, f"{tool} is not on this host"
        shutil.copy2(os.path.realpath(src), dest / "usr/bin" / tool)
        for line in subprocess.run(["ldd", src], capture_output=True, text=True).stdout.splitlines():
            path = line.split("=>")[-1].split("(")[0].strip()
            if path.startswith("/"):
                libs.add(path)
    for lib in libs:
        target = dest / lib.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.realpath(lib), target)
    (dest / "etc" / "os-release").write_text(f'NAME="aidc test image"\nID=aidc-test\nMARKER="{marker}"\n')
    for d in dest.rglob("*"):
        if d.is_dir() and not d.is_symlink():
            d.chmod(0o755)
    dest.chmod(0o755)
    return dest
