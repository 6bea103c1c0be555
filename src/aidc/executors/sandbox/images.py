"""Jobs in their own root filesystem (`image: dir:/path`): the image's directories instead of the host's.

bubblewrap builds the job's root on a tmpfs and binds each top-level entry of the image into it read-only
(so work dir and volume mount points can still be made). The uid drop needs setpriv, which the image may
lack or link against another libc: the host's setpriv (and prlimit) run through the host's own dynamic
loader with the host's libraries, bound under /.aidc, and exec the image's `env` and shell as the
tenant's uid. OCI images by name need podman, which these machines do not run (see docs/security.md).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

HELPER_DIR = "/.aidc"  # inside the job: the host's helper tools and their libraries, read-only
DIR_PREFIX = "dir:"
SHELLS = ("/bin/bash", "/usr/bin/bash", "/bin/sh", "/usr/bin/sh")


class ImageError(Exception):
    """An image that cannot run: not a directory root filesystem, no shell or env in it."""


@dataclass(frozen=True)
class RootFs:
    path: Path
    shell: str  # inside the image
    env: str  # inside the image


def parse_image(image: str) -> Path:
    """`dir:/abs/path` -> the root filesystem's directory (checked: absolute, plain, a directory)."""
    if not image.startswith(DIR_PREFIX):
        raise ImageError(f"image {image!r}: only directory root filesystems ('dir:/abs/path') run here; OCI images "
                         "need podman, which is not set up on this host (docs/security.md)")
    path = image[len(DIR_PREFIX):]
    if not path.startswith("/") or ".." in path.split("/") or os.path.normpath(path) != path.rstrip("/"):
        raise ImageError(f"image {image!r}: give an absolute plain path after 'dir:'")
    return Path(path)


def root_fs(image: str) -> RootFs:
    root = parse_image(image)
    if not root.is_dir():
        raise ImageError(f"image {image!r}: {root} is not a directory on this node")
    shell = next((s for s in SHELLS if _exists_in(root, s)), None)
    if shell is None:
        raise ImageError(f"image {image!r}: no shell in it (looked for {', '.join(SHELLS)})")
    env = next((e for e in ("/usr/bin/env", "/bin/env") if _exists_in(root, e)), None)
    if env is None:
        raise ImageError(f"image {image!r}: no /usr/bin/env in it (it starts the job with a clean environment)")
    return RootFs(root, shell, env)


def _exists_in(root: Path, path: str) -> bool:
    """Whether `path` exists inside the image, following its symlinks within the image."""
    current = root
    for part in Path(path).parts[1:]:
        candidate = current / part
        for _ in range(16):
            if not candidate.is_symlink():
                break
            target = os.readlink(candidate)
            candidate = (root / target.lstrip("/")) if target.startswith("/") else candidate.parent / target
        current = candidate
    return current.exists()


def top_level_binds(root: Path) -> list[str]:
    """bwrap arguments that show the image's top-level entries read-only on the job's tmpfs root."""
    args: list[str] = []
    for entry in sorted(os.listdir(root)):
        src = root / entry
        if entry in ("proc", "dev", "sys", "tmp", "run") or entry.startswith("."):
            continue  # the sandbox makes these itself (no /sys at all)
        if src.is_symlink():
            args += ["--symlink", os.readlink(src), f"/{entry}"]
        elif src.is_dir():
            args += ["--ro-bind", str(src), f"/{entry}"]
    return args


@dataclass(frozen=True)
class HostTools:
    """Host binaries made runnable inside any image: their loader and libraries bound under /.aidc."""

    loader: str  # host path of ld.so
    libraries: tuple[tuple[str, str], ...]  # (soname the binaries ask for, host file)
    tools: tuple[str, ...]  # host paths

    def binds(self) -> list[str]:
        args = ["--dir", HELPER_DIR, "--dir", f"{HELPER_DIR}/lib", "--ro-bind", self.loader, f"{HELPER_DIR}/ld.so"]
        for soname, path in self.libraries:
            args += ["--ro-bind", path, f"{HELPER_DIR}/lib/{soname}"]
        for tool in self.tools:
            args += ["--ro-bind", tool, f"{HELPER_DIR}/{Path(tool).name}"]
        return args

    def prefix(self, tool: str) -> list[str]:
        """argv that runs the host's `tool` inside the image."""
        return [f"{HELPER_DIR}/ld.so", "--library-path", f"{HELPER_DIR}/lib", f"{HELPER_DIR}/{Path(tool).name}"]


_LIB = re.compile(r"^\s*(\S+)\s+=>\s+(/\S+)\s+\(0x[0-9a-f]+\)")
_LOADER = re.compile(r"^\s*(/\S*ld-linux\S*|/\S*/ld-\S+)\s+\(0x[0-9a-f]+\)")


def host_tools(tools: list[str]) -> HostTools:
    """The loader and the shared libraries these host binaries need (read from ldd)."""
    loader, libs = "", {}
    for tool in tools:
        out = subprocess.run(["ldd", tool], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if m := _LIB.match(line):
                libs[m.group(1)] = os.path.realpath(m.group(2))
            elif m := _LOADER.match(line):
                loader = os.path.realpath(m.group(1))
    if not loader:
        raise ImageError(f"cannot find the dynamic loader of {', '.join(tools)} (ldd)")
    return HostTools(loader=loader, libraries=tuple(sorted(libs.items())), tools=tuple(tools))
