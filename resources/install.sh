#!/usr/bin/env bash
# Adds Shorts Desktop to the current user's desktop: the .desktop file (app menu), the icon in
# every size (hicolor theme) and a `shorts-desktop` command in ~/.local/bin, all pointing at the
# bundle this script sits in. Nothing is copied outside the user's XDG dirs; no root needed.
#
#   tar xzf ShortsDesktop-linux-x86_64.tar.gz -C ~/.local/opt   # keep the folder where it is
#   ~/.local/opt/ShortsDesktop/install.sh                       # or: install.sh --uninstall
#
# Options: --exe PATH (the ShortsDesktop executable, default: beside this script),
#          --no-command (no ~/.local/bin link), --uninstall.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exe="$here/ShortsDesktop"
link_command=1
action=install
while [ $# -gt 0 ]; do
  case "$1" in
    --exe) exe="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"; shift 2 ;;
    --no-command) link_command=0; shift ;;
    --uninstall) action=uninstall; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done

APP_ID=shorts-desktop
SIZES=(16 32 48 64 128 256 512)
data="${XDG_DATA_HOME:-$HOME/.local/share}"
bin="${XDG_BIN_HOME:-$HOME/.local/bin}"
apps="$data/applications"
theme="$data/icons/hicolor"

refresh() {  # menus and icon caches pick the change up at once where these tools exist
  if command -v update-desktop-database >/dev/null; then update-desktop-database -q "$apps" || true; fi
  if command -v gtk-update-icon-cache >/dev/null && [ -f "$theme/index.theme" ]; then
    gtk-update-icon-cache -q -t "$theme" || true
  fi
}

if [ "$action" = uninstall ]; then
  rm -f "$apps/$APP_ID.desktop" "$theme/scalable/apps/$APP_ID.svg"
  for s in "${SIZES[@]}"; do rm -f "$theme/${s}x${s}/apps/$APP_ID.png"; done
  if [ -L "$bin/$APP_ID" ]; then rm -f "$bin/$APP_ID"; fi
  refresh
  echo "Removed Shorts Desktop from the menu (the folder $here is left as it is)."
  exit 0
fi

# The bundle keeps its resources in _internal/resources; a source checkout in resources/.
res=""
for candidate in "$here/_internal/resources" "$here"; do
  if [ -f "$candidate/icons/$APP_ID.svg" ] && [ -f "$candidate/$APP_ID.desktop" ]; then
    res="$candidate"; break
  fi
done
if [ -z "$res" ]; then
  echo "install.sh: no resources (icons, $APP_ID.desktop) next to $here" >&2; exit 1
fi
if [ ! -x "$exe" ]; then
  echo "install.sh: $exe is not an executable; unpack the whole archive, or pass --exe" >&2
  exit 1
fi

mkdir -p "$apps" "$theme/scalable/apps"
install -m 644 "$res/icons/$APP_ID.svg" "$theme/scalable/apps/$APP_ID.svg"
for s in "${SIZES[@]}"; do
  mkdir -p "$theme/${s}x${s}/apps"
  install -m 644 "$res/icons/$APP_ID-$s.png" "$theme/${s}x${s}/apps/$APP_ID.png"
done

# Exec/TryExec get the absolute path (quoted as the Desktop Entry spec asks when it has spaces).
quoted="$exe"
case "$exe" in *[[:space:]]*) quoted="\"$exe\"" ;; esac
esc() { printf '%s' "$1" | sed 's/[\\&|]/\\&/g'; }  # for the sed replacement below
sed -e "s|^Exec=ShortsDesktop|Exec=$(esc "$quoted")|" -e "s|^TryExec=.*|TryExec=$(esc "$exe")|" \
  "$res/$APP_ID.desktop" > "$apps/$APP_ID.desktop.tmp"
chmod 644 "$apps/$APP_ID.desktop.tmp"
mv "$apps/$APP_ID.desktop.tmp" "$apps/$APP_ID.desktop"

if [ "$link_command" = 1 ]; then
  mkdir -p "$bin"
  if [ -e "$bin/$APP_ID" ] && [ ! -L "$bin/$APP_ID" ]; then
    echo "install.sh: $bin/$APP_ID exists and is not a link; left alone" >&2
  else
    ln -sfn "$exe" "$bin/$APP_ID"
  fi
fi
refresh

echo "Installed Shorts Desktop for $(id -un):"
echo "  menu entry  $apps/$APP_ID.desktop"
echo "  icons       $theme/{16x16..512x512,scalable}/apps/$APP_ID.*"
if [ "$link_command" = 1 ]; then
  echo "  command     $bin/$APP_ID -> $exe"
  case ":$PATH:" in *":$bin:"*) ;; *) echo "  ($bin is not on your PATH; add it to use the command)" ;; esac
fi
echo "Remove with: $here/install.sh --uninstall"
