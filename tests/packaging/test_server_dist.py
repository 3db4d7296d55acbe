"""The two distributions agree: castapp-server is the full app's room service, nothing more."""

from __future__ import annotations

import re
import tomllib

from pkgbuild import ROOT


def _project(path: str) -> dict:
    return tomllib.loads((ROOT / path).read_text())["project"]


def _name(req: str) -> str:
    return re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0].lower()


def test_server_distribution_is_a_subset_of_the_full_app() -> None:
    full, lean = _project("pyproject.toml"), _project("packaging/server/pyproject.toml")
    assert lean["name"] == "castapp-server" and full["name"] == "castapp"
    assert lean["version"] == full["version"]
    assert lean["scripts"] == full["scripts"]
    full_reqs = {_name(r): r for r in full["dependencies"]}
    for req in lean["dependencies"]:
        assert full_reqs.get(_name(req)) == req, f"{req} differs from the full app's"
    heavy = {"pyside6-essentials", "pyside6-addons", "aiortc", "av", "mss", "numpy",
             "opencv-python-headless", "qasync"}
    assert not heavy & {_name(r) for r in lean["dependencies"]}
    assert (ROOT / "packaging/server/castapp").resolve() == ROOT / "castapp"
