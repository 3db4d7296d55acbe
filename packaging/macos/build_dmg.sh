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
PLIST="$OUT/dist/castapp.app/Contents/Info.plist"
# a normal foreground app: no LSBackgroundOnly (no Dock icon, menu bar or focus with it)
if /usr/libexec/PlistBuddy -c "Print :LSBackgroundOnly" "$PLIST" >/dev/null 2>&1; then
  echo "Info.plist marks castapp.app LSBackgroundOnly" >&2; exit 1
fi
/usr/libexec/PlistBuddy -c "Print :NSScreenCaptureUsageDescription" "$PLIST"
OUTPUT=$("$OUT/dist/castapp.app/Contents/MacOS/castapp" --version)
[ "$OUTPUT" = "castapp $VERSION" ] || { echo "--version printed '$OUTPUT'" >&2; exit 1; }
"$OUT/dist/castapp.app/Contents/MacOS/castapp" --self-test

DMG="$OUT/castapp-$VERSION-macos-$(uname -m).dmg"
STAGE=$(mktemp -d)
cp -R "$OUT/dist/castapp.app" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$DMG"
# hdiutil on hosted runners fails now and then ("Resource busy"): try a few times
for attempt in 1 2 3 4 5; do
  if hdiutil create -volname "castapp $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO \
      "$DMG"; then
    break
  fi
  if [ "$attempt" = 5 ]; then echo "hdiutil create failed 5 times" >&2; exit 1; fi
  rm -f "$DMG"
  sleep $((attempt * 10))
done
echo "$DMG"
