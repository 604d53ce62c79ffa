"""Every setting read from the environment is listed in .env.example, and nothing reads ../shared."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "dothi"


def test_every_environment_setting_is_documented():
    read = set(re.findall(r'env(?:_bool|_list)?\("([A-Z_]+)"', (SRC / "settings.py").read_text()))
    read |= {name.removeprefix("DOTHI_") for path in SRC.rglob("*.py")
             for name in re.findall(r"DOTHI_[A-Z_]+", path.read_text())}
    listed = set(re.findall(r"^#?\s*DOTHI_([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read, "the pattern found no settings at all"
    assert read - listed == set(), "add these to .env.example"


def test_runtime_never_reads_the_shared_folder():
    shared = re.compile(r"['\"/]\.\./shared|/work/shared")
    offenders = [str(p) for p in SRC.rglob("*.py") if shared.search(p.read_text())]
    assert offenders == []
