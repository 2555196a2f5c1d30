#!/usr/bin/env bash
# A CPython of the Lambda runtime's minor version (python3.13) for this machine, which has only 3.11:
# Debian trixie's python3.13 packages, fetched with apt-get under a private configuration (the system's
# sources and package state are untouched) and unpacked with dpkg -x, with trixie's own glibc beside
# them. For arm64 the same packages run under Debian's qemu-user-static, also unpacked, not installed.
# Used to compile the artifacts' .pyc files and to import every handler from them (make artifact-check).
#
#   fetch_python.sh ARCH DEST     ARCH: x86_64 | arm64      prints the command that runs python3.13
set -euo pipefail
arch=$1 dest=$(realpath -m "$2")
case $arch in
  x86_64) deb_arch=amd64 loader=usr/lib64/ld-linux-x86-64.so.2 libdir=usr/lib/x86_64-linux-gnu ;;
  arm64) deb_arch=arm64 ;;
  *) echo "fetch_python.sh: unknown architecture $arch" >&2; exit 2 ;;
esac
root=$dest/root
if [[ ! -x $root/usr/bin/python3.13 ]]; then
  apt_dir=$dest/apt
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$dest/debs"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
    >"$apt_dir/sources.list"
  apt=(apt-get -q -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o Dir::State::status=/dev/null
    -o "APT::Architecture=$deb_arch" -o "APT::Architectures=$deb_arch" -o APT::Sandbox::User=root)
  echo "fetching Debian trixie's python3.13 ($deb_arch) into $dest" >&2
  "${apt[@]}" update >&2
  packages=(python3.13-minimal libpython3.13-minimal libpython3.13-stdlib libc6 libexpat1 zlib1g libssl3t64
    libffi8 libbz2-1.0 liblzma5 libsqlite3-0 libuuid1 libzstd1 libgcc-s1 libstdc++6)
  (cd "$dest/debs" && "${apt[@]}" download "${packages[@]/%/:$deb_arch}" >&2)
  rm -rf "$root"
  for deb in "$dest"/debs/*.deb; do dpkg -x "$deb" "$root"; done
  ln -sfn usr/lib "$root/lib"  # merged /usr: the loader's path /lib/ld-linux-*.so.* lives in base-files
  [[ -x $root/usr/bin/python3.13 ]] || { echo "fetch_python.sh: no python3.13 in $root (apt-get above?)" >&2; exit 1; }
fi
if [[ $arch == x86_64 ]]; then
  echo "$root/$loader --library-path $root/$libdir $root/usr/bin/python3.13"
  exit 0
fi
# arm64 on an x86_64 machine: emulated by qemu-user (no binfmt registration needed: called directly).
if [[ $(uname -m) == aarch64 ]]; then
  echo "$root/lib/ld-linux-aarch64.so.1 --library-path $root/usr/lib/aarch64-linux-gnu $root/usr/bin/python3.13"
  exit 0
fi
qemu=$dest/qemu/usr/bin/qemu-aarch64-static
if [[ ! -x $qemu ]]; then
  mkdir -p "$dest/qemu-deb"
  echo "fetching Debian's qemu-user-static into $dest/qemu" >&2
  (cd "$dest/qemu-deb" && apt-get -q -o APT::Sandbox::User=root download qemu-user-static >&2)
  dpkg -x "$dest"/qemu-deb/qemu-user-static_*.deb "$dest/qemu"
fi
echo "$qemu -L $root $root/usr/bin/python3.13"
