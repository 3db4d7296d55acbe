#!/usr/bin/env bash
# Refreshes the translation sources in i18n/ from the code and compiles them into the package.
#   scripts/i18n.sh          update i18n/*.ts (new strings appear as unfinished), build .qm
#   scripts/i18n.sh --check  fail if the .ts files or the shipped .qm files are out of date
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${PYSIDE_BIN:-.venv/bin}
sources=(castapp/gui/*.py castapp/app/words.py)
languages=(en zh_CN)

if [ "${1:-}" = "--check" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  status=0
  for lang in "${languages[@]}"; do
    cp "i18n/castapp_$lang.ts" "$tmp/castapp_$lang.ts"
    "$BIN/pyside6-lupdate" -silent -no-obsolete -locations none "${sources[@]}" \
      -ts "$tmp/castapp_$lang.ts" >/dev/null
    if ! cmp -s "$tmp/castapp_$lang.ts" "i18n/castapp_$lang.ts"; then
      echo "i18n/castapp_$lang.ts is out of date: run scripts/i18n.sh" >&2
      status=1
    fi
    "$BIN/pyside6-lrelease" -silent "i18n/castapp_$lang.ts" -qm "$tmp/castapp_$lang.qm"
    if ! cmp -s "$tmp/castapp_$lang.qm" "castapp/gui/translations/castapp_$lang.qm"; then
      echo "castapp/gui/translations/castapp_$lang.qm is out of date: run scripts/i18n.sh" >&2
      status=1
    fi
  done
  exit $status
fi

for lang in "${languages[@]}"; do
  "$BIN/pyside6-lupdate" -no-obsolete -locations none -source-language en \
    -target-language "$lang" "${sources[@]}" -ts "i18n/castapp_$lang.ts"
  "$BIN/pyside6-lrelease" "i18n/castapp_$lang.ts" -qm "castapp/gui/translations/castapp_$lang.qm"
done
