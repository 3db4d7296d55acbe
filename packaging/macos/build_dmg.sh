#!/usr/bin/env bash
# castapp for macOS: castapp.app (from packaging/castapp.spec) in a compressed .dmg.
#
#   bash packaging/macos/build_dmg.sh [OUT]      # OUT defaults to build/package
#
# Needs the Python environment with castapp and PyInstaller, iconutil and hdiutil (macOS).
# The spec's Info.plist carries NSScreenCaptureUsageDescription: macOS shows it when the
# sender first records the screen, and castapp only sees its own window until the user
# allows castapp under System Settings → Privacy & Security → Screen Recording.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-build/package}
PYTHON=${PYTHON:-python}
VERSION=$("$PYTHON" -c 'import castapp; print(castapp.__version__)')

# castapp.icns from the source art, rendered with Qt at the sizes macOS uses.
ICONSET=$(mktemp -d)/castapp.iconset
mkdir -p "$ICONSET"
"$PYTHON" - "$ICONSET" <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, "packaging")
from icons import render_png
out = Path(sys.argv[1])
for n in (16, 32, 128, 256, 512):
    render_png(Path("resources/castapp.svg"), n, out / f"icon_{n}x{n}.png")
    render_png(Path("resources/castapp.svg"), 2 * n, out / f"icon_{n}x{n}@2x.png")
PY
iconutil -c icns -o packaging/macos/castapp.icns "$ICONSET"

"$PYTHON" -m PyInstaller packaging/castapp.spec --noconfirm \
  --distpath "$OUT/dist" --workpath "$OUT/work"
"$OUT/dist/castapp.app/Contents/MacOS/castapp" --self-test

DMG="$OUT/castapp-$VERSION-macos-$(uname -m).dmg"
STAGE=$(mktemp -d)
cp -R "$OUT/dist/castapp.app" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$DMG"
hdiutil create -volname "castapp $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO "$DMG"
echo "$DMG"
