"""Make the teaching page render with no internet (``python -m sim.app.offline``).

Solara serves the page's front-end files (app shell, requirejs, font-awesome,
KaTeX) from ``<prefix>/share/solara/cdn/``, and fetches any file missing there
from a CDN the first time a page asks for it, so an offline classroom gets a
blank page.  The ``solara-assets`` package ships most of them; this module
finds every ``<package>@<version>`` that the installed Solara refers to, and
unpacks the missing ones from the npm registry (``npm pack``) into that
folder.  ``make test`` and ``make app`` run it; it does nothing when all are
present.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PATTERN = re.compile(
    r"(@widgetti/solara-vuetify3?-app|katex|requirejs|font-awesome)@(\d+\.\d+\.\d+)"
)


def cdn_dir() -> Path:
    """Solara's local CDN cache folder (``<prefix>/share/solara/cdn``)."""
    from solara.server.settings import assets

    return Path(assets.proxy_cache_dir)


def referenced() -> list[str]:
    """Every ``package@version`` that the installed Solara loads from its CDN."""
    import solara

    root = Path(solara.__file__).parent
    found: set[str] = set()
    for f in root.rglob("*"):
        if f.suffix in (".py", ".html", ".vue", ".js") and f.is_file():
            for m in PATTERN.finditer(f.read_text(encoding="utf-8", errors="ignore")):
                found.add(f"{m.group(1)}@{m.group(2)}")
    return sorted(found)


def missing(cdn: Path | None = None) -> list[str]:
    cdn = cdn or cdn_dir()
    return [p for p in referenced() if not (cdn / p).is_dir()]


def unpack(spec: str, cdn: Path) -> Path:
    """``npm pack`` one package and unpack its ``package/`` tree to cdn/spec."""
    target = cdn / spec
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(["npm", "pack", spec, "--silent", "--pack-destination", tmp],
                             check=True, capture_output=True, text=True)  # fmt: skip
        tgz = Path(tmp) / out.stdout.strip().splitlines()[-1]
        staging = Path(tmp) / "x"
        with tarfile.open(tgz) as tar:
            tar.extractall(staging, filter="data")
        target.parent.mkdir(parents=True, exist_ok=True)
        (staging / "package").rename(target)
    return target


def main() -> int:
    cdn = cdn_dir()
    todo = missing(cdn)
    if not todo:
        print(f"offline front-end files: all {len(referenced())} present in {cdn}")
        return 0
    for spec in todo:
        try:
            print(f"offline front-end files: unpacking {spec} (npm pack) into {cdn}")
            unpack(spec, cdn)
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"offline front-end files: {spec}: npm pack failed ({exc}); "
                  "install npm (apt-get install npm) and rerun", file=sys.stderr)  # fmt: skip
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
