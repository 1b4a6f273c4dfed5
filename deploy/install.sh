#!/bin/bash
# signage: set up a fresh Debian 12 mini-PC as a screen. Run as root; running it again is harmless.
#
#   deploy/install.sh [--source DIR] [--root DIR]
#                     [--skip-apt] [--skip-user] [--skip-venv] [--no-systemctl] [--python PY]
#   deploy/install.sh --list-packages
#
# What it does, each step only when needed:
#   1. Debian packages: Python venv, the CJK fonts, the X11/xcb libraries the player needs and a minimal
#      X server (xserver-xorg-core, xset, xauth). --list-packages prints them and stops (image builders).
#   2. The system user "signage" (no login, home /var/lib/signage), in the video, render and input groups.
#   3. A venv in /opt/signage/venv with this project installed; /usr/local/bin/signage points at it.
#   4. /etc/signage/player.toml from `signage`'s example config, only if there is none (never overwritten);
#      an existing /etc/signage/token is made root:signage 0640.
#   5. /var/lib/signage (and its cache/ folder) owned by signage, mode 0750.
#   6. The systemd units in /etc/systemd/system (kiosk.service from the top of the source, signage-x.service
#      and signage-sync.service from deploy/), the X helper in /usr/local/lib/signage, /etc/X11/xorg.conf.d/20-signage.conf (no GLX); then daemon-reload and enable (with systemd
#      not running as PID 1, e.g. in a container, units are enabled offline or the step is skipped).
#
# --root DIR installs into DIR instead of / (tests, images); with it, nothing outside DIR is touched: no
# packages, no users, and systemctl only with --root. The --skip-* switches leave out single steps.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_dir=$(dirname "$here")
root=/
skip_apt=0
skip_user=0
skip_venv=0
no_systemctl=0
python=""
list_packages=0

say() { printf 'signage install: %s\n' "$*"; }
die() { printf 'signage install: error: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
    --source) source_dir=$(cd "$2" && pwd); shift 2 ;;
    --root) root=$2; shift 2 ;;
    --skip-apt) skip_apt=1; shift ;;
    --skip-user) skip_user=1; shift ;;
    --skip-venv) skip_venv=1; shift ;;
    --no-systemctl) no_systemctl=1; shift ;;
    --python) python=$2; shift 2 ;;
    --display) [ "$2" = x ] || die "--display $2: only x is supported (the cage variant was removed)"; shift 2 ;;
    --list-packages) list_packages=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
    esac
done

common_packages=(python3-venv fonts-noto-cjk libegl1 libgl1 libfontconfig1 libdbus-1-3 libxkbcommon0)
x_packages=(xserver-xorg-core xserver-xorg-input-libinput x11-xserver-utils xauth
    libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxkbcommon-x11-0 libxcb-cursor0
    libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-xkb1)
packages=("${common_packages[@]}" "${x_packages[@]}")

if [ "$list_packages" = 1 ]; then
    printf '%s\n' "${packages[@]}"
    exit 0
fi

[ -f "$source_dir/pyproject.toml" ] || die "$source_dir is not the signage source (no pyproject.toml)"
if [ "$root" != / ]; then
    mkdir -p "$root"
    root=$(cd "$root" && pwd)
    # A fake root never touches the machine itself.
    skip_apt=1
    skip_user=1
fi
if [ "$root" = / ] && [ "$(id -u)" != 0 ]; then
    die "run as root (sudo $0), or use --root DIR to install into a folder"
fi
prefix=${root%/}

user=signage
venv=/opt/signage/venv
etc=/etc/signage
state=/var/lib/signage
units=/etc/systemd/system

# --- 1. packages ----------------------------------------------------------------------------------------
if [ "$skip_apt" = 0 ]; then
    missing=()
    for package in "${packages[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$package")
        fi
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        say "Debian packages: all present"
    fi
fi

# --- 2. the user ----------------------------------------------------------------------------------------
if [ "$skip_user" = 0 ]; then
    if ! getent passwd "$user" >/dev/null; then
        say "creating the system user $user"
        adduser --system --group --home "$state" --no-create-home --shell /usr/sbin/nologin \
            --gecos "signage kiosk player" "$user" >/dev/null
    fi
    for group in video render input; do
        if getent group "$group" >/dev/null && ! id -nG "$user" | tr ' ' '\n' | grep -qx "$group"; then
            usermod -aG "$group" "$user"
        fi
    done
fi
owner=root
if [ "$skip_user" = 0 ] || { [ "$root" = / ] && getent passwd "$user" >/dev/null; }; then
    owner=$user
fi

# --- 3. the venv ----------------------------------------------------------------------------------------
if [ "$skip_venv" = 0 ]; then
    if [ ! -x "$prefix$venv/bin/python" ]; then
        say "creating the venv $prefix$venv"
        mkdir -p "$(dirname "$prefix$venv")"
        python3 -m venv "$prefix$venv"
        "$prefix$venv/bin/python" -m pip install -q --upgrade pip
    fi
    say "installing signage from $source_dir"
    "$prefix$venv/bin/python" -m pip install -q "$source_dir"
    mkdir -p "$prefix/usr/local/bin"
    ln -sfn "$venv/bin/signage" "$prefix/usr/local/bin/signage"
fi
if [ -z "$python" ]; then
    if [ -x "$prefix$venv/bin/python" ]; then python="$prefix$venv/bin/python"; else python=python3; fi
fi

# --- 4. config ------------------------------------------------------------------------------------------
install -d -m 0755 "$prefix$etc"
if [ ! -e "$prefix$etc/player.toml" ]; then
    say "writing the config skeleton $prefix$etc/player.toml: edit it before starting the player"
    PYTHONPATH="$source_dir" "$python" -c \
        'import sys; from signage.sync.config import example_config; sys.stdout.write(example_config())' \
        >"$prefix$etc/player.toml.new"
    chmod 0644 "$prefix$etc/player.toml.new"
    mv "$prefix$etc/player.toml.new" "$prefix$etc/player.toml"
else
    say "keeping the existing $prefix$etc/player.toml"
fi
if [ -f "$prefix$etc/token" ]; then
    # The hub token is a secret: readable by root and the player, nobody else.
    chown "root:$owner" "$prefix$etc/token" 2>/dev/null || true
    chmod 0640 "$prefix$etc/token"
fi

# --- 5. state -------------------------------------------------------------------------------------------
install -d -m 0750 "$prefix$state" "$prefix$state/cache"
if [ "$owner" != root ]; then
    chown "$owner:$owner" "$prefix$state" "$prefix$state/cache"
fi

# --- 6. units -------------------------------------------------------------------------------------------
install -d -m 0755 "$prefix$units" "$prefix/usr/local/lib/signage"
# kiosk.service, the unit users install, sits at the top of the source; the X server's unit and helper here.
install -m 0644 "$(dirname "$here")/kiosk.service" "$prefix$units/kiosk.service"
install -m 0644 "$here/signage-x.service" "$prefix$units/signage-x.service"
# The sync service beside the player (issue 15): it syncs, the player only paints.
install -m 0644 "$here/signage-sync.service" "$prefix$units/signage-sync.service"
install -m 0755 "$here/x-session" "$prefix/usr/local/lib/signage/x-session"
# Xorg without GLX: the player never uses OpenGL (issue 15).
install -d -m 0755 "$prefix/etc/X11/xorg.conf.d"
install -m 0644 "$here/xorg-signage.conf" "$prefix/etc/X11/xorg.conf.d/20-signage.conf"
enable=(kiosk.service signage-x.service signage-sync.service)
# The cage (Wayland) variant of earlier versions never reached a slide and was removed: take it away.
disable=()
if [ -e "$prefix$units/kiosk-cage.service" ]; then
    disable=(kiosk-cage.service)
    say "removing the old cage variant (kiosk-cage.service)"
fi
if [ "$no_systemctl" = 1 ]; then
    say "systemctl skipped (--no-systemctl); enable ${enable[*]} yourself"
elif ! command -v systemctl >/dev/null; then
    say "no systemctl here; enable ${enable[*]} yourself"
elif [ "$root" != / ]; then
    [ ${#disable[@]} -eq 0 ] || systemctl --root="$root" --quiet disable "${disable[@]}" 2>/dev/null || true
    systemctl --root="$root" --quiet enable "${enable[@]}"
    say "enabled ${enable[*]} in $root"
elif [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    [ ${#disable[@]} -eq 0 ] || systemctl --quiet disable "${disable[@]}" 2>/dev/null || true
    systemctl --quiet enable "${enable[@]}"
    say "enabled ${enable[*]}; they start at the next boot (or now: systemctl start ${enable[0]} signage-sync.service)"
else
    # A container or a chroot: systemd is not PID 1, so nothing can be started; enabling works offline.
    [ ${#disable[@]} -eq 0 ] || systemctl --quiet disable "${disable[@]}" 2>/dev/null || true
    systemctl --quiet enable "${enable[@]}" 2>/dev/null \
        && say "systemd is not running (container?): enabled ${enable[*]} for the next boot" \
        || say "systemd is not running (container?): enable ${enable[*]} on the real machine"
fi

if [ ${#disable[@]} -gt 0 ]; then
    rm -f "$prefix$units/kiosk-cage.service" "$prefix/etc/pam.d/signage-kiosk"
fi

cat <<EOF
signage install: done. Next / 下一步:
  1. copy the operator's root file / 复制根文件:   install -m 644 1.root.json $etc/root.json
  2. edit the config / 编辑配置:                  sudoedit $etc/player.toml
  3. put this screen's token / 放置令牌:          install -m 640 -o root -g $user token $etc/token
  4. check the screen / 检查:                      signage doctor --config $etc/player.toml
  5. start / 启动:                                 systemctl start ${enable[0]} signage-sync.service   (or reboot / 或重启)
EOF
