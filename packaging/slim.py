"""Make the frozen Linux folder smaller after PyInstaller: stub libraries castapp cannot reach,
trim ICU's data to the interface's languages, and strip every ELF file.

Used by ``build_linux.py``; each step prints what it saved. Needs binutils (objdump, readelf,
objcopy, strip), a C compiler (``cc``) for the stubs and ``icupkg`` (icu-devtools) for ICU's
data; a step whose tool is missing is skipped with a note, so the build still works, only
larger.

**Stubs.** Some libraries are only linked, never used, by the parts of the stack castapp
calls. A stub is a tiny library with the same ``SONAME``, the same symbol versions and every
symbol that the bundle's other files import from the original, so the dynamic linker is
satisfied; each function in it prints which library is missing and aborts, so reaching one
would be loud, not silent. Qt does the same for optional libraries of its FFmpeg backend
(``libQt6FFmpegStub-*``).

- ``libQt6Quick`` and ``libQt6Qml`` (and, through them, ``QmlModels``, ``QmlMeta``,
  ``QmlWorkerScript``): Qt Multimedia's FFmpeg backend links them to grab QML windows
  (``qobject_cast<QQuickWindow *>`` and ``QQuickWindow::grabWindow``). castapp has no QML
  window, so the cast always yields null and ``grabWindow`` is never called.
- ``libx265`` and ``libSvtAv1Enc``: PyAV's FFmpeg links the HEVC and AV1 *encoders*; castapp
  encodes H.264 and VP8 only (``castapp/rtc/encoder.py``) and decodes AV1 with dav1d, which
  stays.

**ICU data.** Qt Core links ICU, whose data library carries every locale (32 MB). Qt uses it
for collation, case mapping by locale and time-zone names; castapp's interface is English and
Simplified Chinese. The trimmed data keeps the root locale, every ``en`` and ``zh`` locale, all
non-locale tables (normalisation, properties, converters, time zones, plural rules, …) and drops
other languages' locale data, the transliterators, the word-break dictionaries (Qt breaks
text with its own tables) and the converters for legacy character sets (Qt converts UTF-8 and
UTF-16 itself; only ``QStringConverter`` by the name of another charset would need them).
A locale that is gone falls back to the root locale.

**Strip.** Symbol tables and debug sections come out of every ELF file except the launcher.
Each stripped file's loadable segments are checked for page alignment (what a loader needs;
some patchelf-rewritten libraries used to come out of older ``strip`` releases misaligned);
a file that fails the check keeps its symbols.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

#: Libraries replaced by stubs (matched against the file name), and why castapp never needs
#: them. Their private dependencies disappear with them (see ``drop_orphans``).
STUBS = {
    r"libQt6Quick\.so\.6": "Qt Quick (castapp has no QML window)",
    r"libQt6Qml\.so\.6": "Qt QML (castapp has no QML window)",
    r"libx265-[0-9a-f]+\.so\.\d+": "the x265 HEVC encoder (castapp encodes H.264 and VP8)",
    r"libSvtAv1Enc-[0-9a-f]+\.so[.\d]*": "the SVT-AV1 encoder (castapp encodes H.264 and VP8)",
}
#: Stub functions that answer "not available" (null) instead of aborting: FFmpeg asks x265
#: for its API of each bit depth when it lists its codecs, and lists the encoder with no pixel
#: formats when the answer is null.
NOT_AVAILABLE = re.compile(r"x265_api_get(_\d+)?")
#: ICU locale data kept: the root locale and the interface's languages.
ICU_LANGUAGES = ("root", "en", "zh")
#: ICU items dropped whole: transliterators, word-break dictionaries (``*.dict``) and the
#: legacy-charset converters (``*.cnv``: Qt reads and writes UTF-8 and UTF-16 without them).
ICU_DROP = re.compile(r"^translit/|^brkitr/.*\.dict$|\.cnv$")
#: A locale-specific ICU item: ``[folder/]lang[_Script][_REGION…].res``.
_ICU_LOCALE = re.compile(r"^(?:[a-z]+/)?([a-z]{2,3})(?:_\w+)?\.res$")
_ICU_NOT_LOCALES = {"res_index", "pool"}


def _say(text: str) -> None:
    print(f"slim: {text}", file=sys.stderr)


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def is_elf(path: Path) -> bool:
    if not path.is_file() or path.is_symlink():
        return False
    with path.open("rb") as f:
        return f.read(4) == b"\x7fELF"


def elf_files(app: Path) -> list[Path]:
    return [p for p in sorted(app.rglob("*")) if is_elf(p)]


def needed(path: Path) -> list[str]:
    return re.findall(r"^\s*NEEDED\s+(\S+)", _run("objdump", "-p", str(path)), re.M)


def _dyn_symbols(path: Path) -> list[tuple[str, str, int, str, str]]:
    """(name, version, size, type, section) of each dynamic symbol."""
    out = []
    for line in _run("readelf", "--dyn-syms", "--wide", str(path)).splitlines():
        parts = line.split()
        if len(parts) < 8 or not parts[0].endswith(":") or parts[0] == "Num:":
            continue
        size = int(parts[2], 0) if parts[2].isdigit() else int(parts[2], 16)
        name, _, version = parts[7].replace("@@", "@").partition("@")
        out.append((name, version, size, parts[3], parts[6]))
    return out


def _version_definitions(path: Path) -> list[str]:
    text = _run("readelf", "-V", "--wide", str(path))
    section = text.split("Version definition section", 1)
    if len(section) < 2:
        return []
    section_text = section[1].split("Version needs section", 1)[0]
    return [m.group(2) for m in re.finditer(r"Flags: (\S+)\s+Index: \d+\s+Cnt: \d+\s+Name: (\S+)",
                                            section_text) if m.group(1) != "BASE"]


def _stub_source(soname: str, reason: str,
                 symbols: Iterable[tuple[str, str, int, str]]) -> str:
    lines = [
        "#include <stdio.h>",
        "#include <stdlib.h>",
        f"static void missing(void) {{ fputs(\"castapp: {soname} is not part of this build: "
        f"{reason}\\n\", stderr); abort(); }}",
    ]
    for i, (name, _version, size, kind) in enumerate(sorted(set(symbols))):
        if kind == "FUNC" and NOT_AVAILABLE.fullmatch(name):
            lines.append(f'void *f{i}(void) __asm__("{name}");')
            lines.append(f"void *f{i}(void) {{ return NULL; }}")
        elif kind == "FUNC":
            lines.append(f'void f{i}(void) __asm__("{name}");')
            lines.append(f"void f{i}(void) {{ missing(); }}")
        else:  # data: zeroes of the original's size (a QMetaObject nobody's class points to)
            lines.append(f'__attribute__((aligned(16))) char d{i}[{max(size, 1)}] '
                         f'__asm__("{name}");')
            lines.append(f"char d{i}[{max(size, 1)}] = {{0}};")
    return "\n".join(lines) + "\n"


def _version_script(versions: list[str], symbols: Iterable[tuple[str, str, int, str]]) -> str:
    by_version: dict[str, list[str]] = {v: [] for v in versions}
    for name, version, _size, _kind in symbols:
        by_version.setdefault(version or "", []).append(name)
    unversioned = by_version.pop("", [])
    blocks = []
    for version, names in by_version.items():
        entries = "".join(f"    {n};\n" for n in sorted(set(names)))
        blocks.append(f"{version} {{\n  global:\n{entries}}};\n")
    if unversioned or not blocks:
        entries = "".join(f"    {n};\n" for n in sorted(set(unversioned)))
        blocks.append(f"{{\n  global:\n{entries}  local: *;\n}};\n" if entries
                      else "{ local: *; };\n")
    return "".join(blocks)


def stub_library(original: Path, consumers: list[Path], reason: str, cc: str) -> int:
    """Replace ``original`` by a stub with what ``consumers`` import; bytes saved."""
    soname = original.name
    defined = {(n, v): (size, kind) for n, v, size, kind, ndx in _dyn_symbols(original)
               if ndx != "UND" and kind in ("FUNC", "OBJECT", "IFUNC", "TLS")}
    by_name = {n: (n, v, *sv) for (n, v), sv in defined.items()}
    wanted: set[tuple[str, str, int, str]] = set()
    for consumer in consumers:
        for name, version, _size, _kind, ndx in _dyn_symbols(consumer):
            if ndx != "UND":
                continue
            if (name, version) in defined:
                size, kind = defined[(name, version)]
                wanted.add((name, version, size, "FUNC" if kind == "IFUNC" else kind))
            elif not version and name in by_name:
                n, v, size, kind = by_name[name]
                wanted.add((n, v, size, "FUNC" if kind == "IFUNC" else kind))
    if any(kind == "TLS" for *_rest, kind in wanted):
        raise RuntimeError(f"{soname}: thread-local symbols are imported; no stub made")
    versions = _version_definitions(original)
    for i, version in enumerate(versions):  # a version node needs a symbol to be emitted
        if not any(v == version for _n, v, _s, _k in wanted):
            wanted.add((f"castapp_stub_{i}", version, 0, "FUNC"))
    with tempfile.TemporaryDirectory() as tmp:
        src, script, out = Path(tmp, "stub.c"), Path(tmp, "stub.map"), Path(tmp, soname)
        src.write_text(_stub_source(soname, reason, wanted))
        script.write_text(_version_script(versions, wanted))
        subprocess.run([cc, "-shared", "-fPIC", "-O2", "-s", "-o", str(out), str(src),
                        f"-Wl,-soname,{soname}", f"-Wl,--version-script={script}"],
                       check=True, capture_output=True, text=True)
        before = original.stat().st_size
        mode = original.stat().st_mode
        shutil.copyfile(out, original)
        os.chmod(original, mode)
    return before - original.stat().st_size


def _bundled_closure(files: list[Path], roots: Iterable[Path]) -> set[str]:
    """Names of the bundled libraries that ``roots`` link, directly or not."""
    by_name = {p.name: p for p in files}
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        for name in needed(todo.pop()):
            if name in by_name and name not in seen:
                seen.add(name)
                todo.append(by_name[name])
    return seen


def drop_orphans(app: Path, candidates: set[str]) -> list[Path]:
    """Remove the ``candidates`` (library names) that no file left in the bundle links, with
    the symbolic links to them; returns what was removed."""
    removed: list[Path] = []
    while True:
        files = elf_files(app)
        linked = {name for p in files for name in needed(p)}
        orphans = [p for p in files if p.name in candidates and p.name not in linked]
        if not orphans:
            return removed
        for p in orphans:
            for link in app.rglob(p.name):
                if link.is_symlink() and link.resolve() == p.resolve():
                    link.unlink()
            p.unlink()
            removed.append(p)


def stub_unreachable(app: Path) -> int:
    """Replace the libraries in ``STUBS`` by stubs; bytes saved (0 without a C compiler)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        _say("no C compiler (cc), unused libraries are kept whole")
        return 0
    files = elf_files(app)
    targets = [(p, reason) for p in files for pattern, reason in STUBS.items()
               if re.fullmatch(pattern, p.name)]
    target_paths = {p for p, _ in targets}
    # what only the originals needed can go once they are stubs
    candidates = _bundled_closure(files, target_paths) - {p.name for p in target_paths}
    saved = 0
    for path, reason in targets:
        consumers = [p for p in files if p not in target_paths and path.name in needed(p)]
        saved += stub_library(path, consumers, reason, cc)
        _say(f"{path.relative_to(app)} is a stub ({reason})")
    sizes = {p: p.stat().st_size for p in files}
    for p in drop_orphans(app, candidates):
        saved += sizes.get(p, 0)
        _say(f"dropped {p.relative_to(app)} (only the stubbed libraries linked it)")
    return saved


def _icu_item_kept(item: str) -> bool:
    if ICU_DROP.search(item):
        return False
    m = _ICU_LOCALE.match(item)
    stem = Path(item).stem
    if m is None or stem in _ICU_NOT_LOCALES:
        return True
    return m.group(1) in ICU_LANGUAGES or stem == "root"


def _icu_closed(icupkg: str, dat: Path, small: Path, drop: set[str]) -> list[str]:
    """Write ``small`` without ``drop``, adjusted until every kept item's dependencies are
    there: a missing dependency is kept, unless it is dropped whole (a dictionary), in which
    case the item that needs it goes too. Returns the items dropped."""
    listing = dat.parent / "drop.txt"
    doomed = {item for item in drop if ICU_DROP.search(item)}
    for _ in range(20):
        listing.write_text("\n".join(sorted(drop)) + "\n")
        done = subprocess.run([icupkg, "--remove", listing.name, dat.name, str(small)],
                              capture_output=True, text=True, cwd=dat.parent)
        if done.returncode == 0:
            return sorted(drop)
        pairs = re.findall(r"Item (\S+) depends on missing item (\S+)",
                           done.stdout + done.stderr)
        if not pairs:
            raise RuntimeError(f"icupkg failed: {done.stderr.strip()}")
        for item, dependency in pairs:
            if dependency in doomed:
                drop.add(item)
                doomed.add(item)
            else:
                drop.discard(dependency)
    raise RuntimeError("icupkg: the kept ICU items do not settle")


def trim_icu(app: Path) -> int:
    """Rebuild ICU's data library with the kept items only; bytes saved."""
    found = sorted(app.rglob("libicudata.so.*"))
    icupkg, cc = shutil.which("icupkg"), shutil.which("cc") or shutil.which("gcc")
    if not found:
        return 0
    if icupkg is None or cc is None:
        _say("icupkg (icu-devtools) or cc missing, ICU's data is kept whole")
        return 0
    lib = found[0]
    symbol = next(n for n, _v, _s, kind, ndx in _dyn_symbols(lib)
                  if ndx != "UND" and kind == "OBJECT" and n.endswith("_dat"))
    with tempfile.TemporaryDirectory() as tmp:
        # icupkg wants the package's own name (icudt73l.dat for icudt73_dat, little-endian)
        dat = Path(tmp, "full", symbol.removesuffix("_dat") + "l.dat")
        small = Path(tmp, "small", dat.name)
        dat.parent.mkdir()
        small.parent.mkdir()
        _run("objcopy", "-O", "binary", "--only-section=.rodata", str(lib), str(dat))
        items = _run(icupkg, "--list", str(dat)).split()
        drop = [i for i in items if not _icu_item_kept(i)]
        if not drop:  # trimmed already
            return 0
        drop = _icu_closed(icupkg, dat, small, set(drop))
        src = Path(tmp, "data.S")
        src.write_text(
            f'\t.section .rodata\n\t.balign 16\n\t.globl {symbol}\n'
            f'\t.type {symbol}, @object\n{symbol}:\n\t.incbin "{small}"\n'
            f'\t.size {symbol}, . - {symbol}\n\t.section .note.GNU-stack,"",@progbits\n')
        out = Path(tmp, lib.name)
        subprocess.run([cc, "-shared", "-nostdlib", "-o", str(out), str(src),
                        f"-Wl,-soname,{lib.name}", "-s"], check=True, capture_output=True)
        before = lib.stat().st_size
        mode = lib.stat().st_mode
        shutil.copyfile(out, lib)
        os.chmod(lib, mode)
    _say(f"ICU data keeps {len(items) - len(drop)} of {len(items)} items "
          f"({', '.join(ICU_LANGUAGES)})")
    return before - lib.stat().st_size


def _aligned(path: Path) -> bool:
    """Every loadable segment's file offset and address agree modulo its alignment."""
    text = _run("readelf", "-lW", str(path))
    for m in re.finditer(r"^\s*LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+\S+\s+\S+\s+\S+\s+"
                         r"[RWE ]+\s+(0x[0-9a-f]+)", text, re.M):
        offset, vaddr, align = (int(g, 16) for g in m.groups())
        if align > 1 and offset % align != vaddr % align:
            return False
    return True


def strip_all(app: Path, launcher: str) -> int:
    """Strip symbol tables and debug sections from the bundle's ELF files; bytes saved."""
    saved = 0
    for path in elf_files(app):
        if path.name == launcher and path.parent == app:
            continue  # PyInstaller's launcher finds its archive at the end of the file
        sections = _run("readelf", "-SW", str(path))  # objdump -h does not list .symtab
        if ".symtab" not in sections and ".debug" not in sections:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp, path.name)
            subprocess.run(["strip", "--strip-unneeded", "--preserve-dates", "-o", str(out),
                            str(path)], check=True)
            if not _aligned(out):
                _say(f"{path.relative_to(app)} would be misaligned stripped; kept")
                continue
            before = path.stat().st_size
            mode = path.stat().st_mode
            shutil.copyfile(out, path)
            os.chmod(path, mode)
        saved += before - path.stat().st_size
    return saved
