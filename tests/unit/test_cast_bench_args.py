"""The cast benchmark's command line and the environment of the processes it starts."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


def load_cast(benchmarks: Path) -> ModuleType:
    sys.path.insert(0, str(benchmarks))
    try:
        spec = importlib.util.spec_from_file_location(f"cast_{id(benchmarks)}",
                                                      benchmarks / "cast.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(benchmarks))


def test_a_receiver_comparison_runs_in_either_order() -> None:
    cast = load_cast(BENCHMARKS)
    args = cast.parse_args(["--compare", "queued", "--other-first"])
    assert args.compare == "queued" and args.other_first
    assert cast.RECEIVER_COMPARES["queued"] == ("--queued", "queued")
    assert cast.parse_args(["--compare", "single-reads"]).other_first is False


def test_the_single_cast_repeats_for_pooled_figures() -> None:
    cast = load_cast(BENCHMARKS)
    args = cast.parse_args(["--mode", "fixed", "--keyframe-every", "2", "--repeat", "5"])
    assert args.repeat == 5 and not args.senders
    assert cast.parse_args(["--senders", "1,4", "--repeat", "3"]).repeat == 3


@pytest.mark.parametrize("argv", [
    ["--repeat", "3", "--compare", "naive"],
    ["--repeat", "3", "--trace", "t.json"],
    ["--repeat", "0"],
    ["--repeat", "3", "--receivers", "2"],
    ["--other-first"],
    ["--compare", "pacing", "--other-first"],
    ["--compare", "queued", "--other-first", "--senders", "2"],
    ["--compare", "queued", "--receiver", "browser"],
])
def test_a_comparison_the_benchmark_cannot_make_is_refused(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    cast = load_cast(BENCHMARKS)
    with pytest.raises(SystemExit) as exit_info:
        cast.parse_args(argv)
    assert exit_info.value.code == 2
    assert "--" in capsys.readouterr().err  # argparse says which option is wrong


def test_children_load_castapp_from_the_benchmarks_own_tree(tmp_path: Path) -> None:
    """A copy of the benchmarks beside another castapp (an older commit's tree, say) starts
    children that import that castapp, not the one the virtualenv's editable install points
    to."""
    tree = tmp_path / "tree"
    shutil.copytree(BENCHMARKS, tree / "benchmarks",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tree / "castapp").mkdir()
    (tree / "castapp" / "__init__.py").write_text("TREE = 'the copy'\n")
    cast = load_cast(tree / "benchmarks")
    args = cast.parse_args([])
    bench = cast.Bench(args, "ns", tmp_path, ModuleType("netns"))
    assert bench.env["PYTHONPATH"].split(os.pathsep)[0] == str(tree)
    out = subprocess.run([sys.executable, "-c", "import castapp; print(castapp.TREE)"],
                         cwd=tmp_path, env=bench.env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "the copy"
