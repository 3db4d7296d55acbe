#!/usr/bin/env bash
# Sets up everything castapp needs on a Debian machine: system packages (when run as root),
# a virtual environment in .venv and the project with its test tools. Safe to run again:
# it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  openssl          # TLS test certificates and an independent HMAC for TURN credentials
  libyuv0          # fast BGRA->I420 conversion and scaling of screen grabs (via ctypes)
  gstreamer1.0-pipewire  # Wayland capture: frames from the ScreenCast portal's PipeWire node
  gstreamer1.0-tools     # (gst-launch-1.0 runs the pipewiresrc -> I420 pipeline)
  gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good  # y4menc, videocrop
  sway             # a headless Wayland compositor for the Wayland capture tests
  pipewire         # PipeWire and its session manager, started by those tests
  pipewire-bin
  wireplumber
  xdg-desktop-portal  # the real portal frontend and permission store (restore tokens)
  xdg-desktop-portal-wlr  # the ScreenCast backend for wlroots compositors (sway) in those tests
  xwayland         # X11 clients on that Wayland desktop (benchmarks/cast.py --backend portal)
  grim             # grabs the compositor's screen through wlr-screencopy in those tests
  dbus-daemon      # a private session bus for those tests
  dbus-bin         # (dbus-send checks that the portal is up)
  xvfb             # a virtual screen for capture and GUI tests
  x11-xserver-utils
  iproute2         # private network namespaces for tests with real WebRTC peers
  nftables         # NAT and packet loss inside test namespaces
  iptables
  coturn           # STUN/TURN server for relay tests (started by the tests, never as a service)
  redis-server     # shared room store for multi-instance tests (started by the tests)
  janus            # the Janus SFU (VideoRoom) for casts to many screens (started by the tests)
  libxcb-icccm4    # Qt's xcb platform plugin under Xvfb
  libxcb-keysyms1
  libxcb-cursor0
  libxkbcommon-x11-0
  libegl1
  libgl1
  libfontconfig1
  libdbus-1-3
  dbus-daemon      # a private session bus for the screensaver-inhibit test (started by the test)
  libpulse0        # QtMultimedia links against it; libpulse-simple captures and plays sound
  pulseaudio       # a private sound server with null sinks for the sound tests (started by them)
  pulseaudio-utils # pacat/parec/pactl: the sound tests play into and record from it
  fonts-wqy-microhei  # CJK glyphs for the Chinese UI
  desktop-file-utils  # validates the .desktop entry of the Debian package
  appstream           # validates the AppStream metainfo
  dpkg-dev            # builds the Debian package
  fakeroot
  binutils            # the freezer inspects shared libraries with objdump
  gcc                 # builds the small stub libraries of the Linux bundle (packaging/slim.py)
  icu-devtools        # icupkg: trims ICU's data in the Linux bundle to English and Chinese
  chromium            # the real browser of the web sender/TV tests (driven by Playwright's
                      # Python package through executable_path; never `playwright install`)
  firefox-esr         # the pages in Firefox, driven over WebDriver BiDi (tests/browser)
  lintian             # checks the Debian package against Debian policy
  podman              # runs the room service's container image (tests/packaging)
  buildah             # builds the Containerfile
  runc                # the OCI runtime that works on hosts with hybrid cgroups
  debootstrap         # a Debian base image for the container test (no registry here)
)

missing=()
if command -v dpkg >/dev/null 2>&1; then
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
fi
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Installing coturn or redis-server must not start them as system services: the tests
    # start their own instances on loopback ports.
    policy=/usr/sbin/policy-rc.d
    made_policy=0
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [ "$made_policy" = 1 ]; then rm -f "$policy"; fi
    # ... nor at the next boot
    if command -v systemctl >/dev/null 2>&1; then
      for unit in coturn redis-server janus; do
        systemctl disable "$unit" >/dev/null 2>&1 || true
      done
    fi
  else
    echo "setup: please install these Debian packages: ${missing[*]}" >&2
  fi
fi

PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  for candidate in python3 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PYTHON=$candidate
      break
    fi
  done
fi
[ -n "$PYTHON" ] || { echo "setup: castapp needs Python 3.11 or newer" >&2; exit 1; }

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.castapp-setup
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python packages into .venv"
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -m pip install -q -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -c 'import castapp, aiohttp, msgspec, pytest' # fail loudly if it did not work
  echo "$want" >"$stamp"
fi
