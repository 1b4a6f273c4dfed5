#!/bin/bash
# signage: set up a fresh Debian 12 mini-PC as a screen. Run as root; running it again is harmless.
#
#   deploy/install.sh [--source DIR] [--display x|cage] [--root DIR]
#                     [--skip-apt] [--skip-user] [--skip-venv] [--no-systemctl] [--python PY]
#
# What it does, each step only when needed:
#   1. Debian packages: Python venv, the CJK fonts, the X11/xcb libraries the player needs, and either a
#      minimal X server (xserver-xorg-core, xset, xauth) or the cage Wayland compositor.
#   2. The system user "signage" (no login, home /var/lib/signage), in the video, render and input groups.
#   3. A venv in /opt/signage/venv with this project installed; /usr/local/bin/signage points at it.
#   4. /etc/signage/player.toml from `signage`'s example config, only if there is none (never overwritten);
#      an existing /etc/signage/token is made root:signage 0640.
#   5. /var/lib/signage (and its cache/ folder) owned by signage, mode 0750.
#   6. The systemd units in /etc/systemd/system, the X helper in /usr/local/lib/signage, the PAM stack for
#      cage; then daemon-reload and enable (with systemd not running as PID 1, e.g. in a container, units
#      are enabled offline or the step is skipped with a message).
#
# --root DIR installs into DIR instead of / (tests, images); with it, nothing outside DIR is touched: no
# packages, no users, and systemctl only with --root. The --skip-* switches leave out single steps.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_dir=$(dirname "$here")
display=x
root=/
skip_apt=0
skip_user=0
skip_venv=0
no_systemctl=0
python=""

say() { printf 'signage install: %s\n' "$*"; }
die() { printf 'signage install: error: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
    --source) source_dir=$(cd "$2" && pwd); shift 2 ;;
    --display) display=$2; shift 2 ;;
    --root) root=$2; shift 2 ;;
    --skip-apt) skip_apt=1; shift ;;
    --skip-user) skip_user=1; shift ;;
    --skip-venv) skip_venv=1; shift ;;
    --no-systemctl) no_systemctl=1; shift ;;
    --python) python=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
    esac
done

case "$display" in x | cage) ;; *) die "--display must be x or cage, not $display" ;; esac
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

common_packages=(python3-venv fonts-noto-cjk libegl1 libgl1 libfontconfig1 libdbus-1-3 libxkbcommon0)
x_packages=(xserver-xorg-core xserver-xorg-input-libinput x11-xserver-utils xauth
    libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxkbcommon-x11-0 libxcb-cursor0
    libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-xkb1)
cage_packages=(cage libwayland-client0 libwayland-cursor0 libwayland-egl1)

# --- 1. packages ----------------------------------------------------------------------------------------
if [ "$skip_apt" = 0 ]; then
    if [ "$display" = x ]; then packages=("${common_packages[@]}" "${x_packages[@]}"); else packages=("${common_packages[@]}" "${cage_packages[@]}"); fi
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
        'import sys; from signage.config import example_config; sys.stdout.write(example_config())' \
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
install -d -m 0755 "$prefix$units" "$prefix/usr/local/lib/signage" "$prefix/etc/pam.d"
for unit in kiosk.service signage-x.service kiosk-cage.service; do
    install -m 0644 "$here/$unit" "$prefix$units/$unit"
done
install -m 0755 "$here/x-session" "$prefix/usr/local/lib/signage/x-session"
install -m 0644 "$here/pam-signage-kiosk" "$prefix/etc/pam.d/signage-kiosk"

if [ "$display" = x ]; then enable=(kiosk.service signage-x.service); disable=(kiosk-cage.service); else enable=(kiosk-cage.service); disable=(kiosk.service signage-x.service); fi
if [ "$no_systemctl" = 1 ]; then
    say "systemctl skipped (--no-systemctl); enable ${enable[*]} yourself"
elif ! command -v systemctl >/dev/null; then
    say "no systemctl here; enable ${enable[*]} yourself"
elif [ "$root" != / ]; then
    systemctl --root="$root" --quiet disable "${disable[@]}" 2>/dev/null || true
    systemctl --root="$root" --quiet enable "${enable[@]}"
    say "enabled ${enable[*]} in $root"
elif [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl --quiet disable "${disable[@]}" 2>/dev/null || true
    systemctl --quiet enable "${enable[@]}"
    say "enabled ${enable[*]}; they start at the next boot (or now: systemctl start ${enable[0]})"
else
    # A container or a chroot: systemd is not PID 1, so nothing can be started; enabling works offline.
    systemctl --quiet disable "${disable[@]}" 2>/dev/null || true
    systemctl --quiet enable "${enable[@]}" 2>/dev/null \
        && say "systemd is not running (container?): enabled ${enable[*]} for the next boot" \
        || say "systemd is not running (container?): enable ${enable[*]} on the real machine"
fi

cat <<EOF
signage install: done. Next / 下一步:
  1. copy the operator's root file / 复制根文件:   install -m 644 1.root.json $etc/root.json
  2. edit the config / 编辑配置:                  sudoedit $etc/player.toml
  3. put this screen's token / 放置令牌:          install -m 640 -o root -g $user token $etc/token
  4. check the screen / 检查:                      signage doctor --config $etc/player.toml
  5. start / 启动:                                 systemctl start ${enable[0]}   (or reboot / 或重启)
EOF
