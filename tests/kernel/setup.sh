#!/bin/sh
# Idempotent set-up of the full-kernel test tier (root, Debian). DIR defaults to ./.kernel.
# A full Debian kernel, booted under qemu by virtme-ng with this machine's filesystem shared, has
# what the host kernel lacks (fq_codel, 802.1Q). busybox-static builds virtme-ng's initramfs; udev
# is what makes the guest's output and exit status reach the host; nftables gives the guest `nft`
# (the guest runs this machine's binaries; only its kernel has nf_tables).
set -eu
DIR=${DIR:-$(pwd)/.kernel}
mkdir -p "$DIR"
DEBS="qemu-system-x86 kmod iperf3 busybox-static udev e2fsprogs nftables"
missing=$(for p in $DEBS; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  echo "installing $missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
if [ ! -s "$DIR/kver" ]; then  # the kernel version linux-image-amd64 depends on today
  apt-cache show --no-all-versions linux-image-amd64 >/dev/null 2>&1 || apt-get update -qq
  apt-cache show --no-all-versions linux-image-amd64 \
    | sed -n 's/^Depends: linux-image-\([0-9][^ ,]*-amd64\).*/\1/p' > "$DIR/kver.tmp"
  test -s "$DIR/kver.tmp" && mv "$DIR/kver.tmp" "$DIR/kver"
fi
KV=$(cat "$DIR/kver")
if [ ! -f "$DIR/kroot/boot/vmlinuz-$KV" ]; then
  echo "fetching linux-image-$KV"
  (cd "$DIR" && apt-get download -q "linux-image-$KV")
  dpkg-deb -x "$DIR"/linux-image-"$KV"_*_amd64.deb "$DIR/kroot"
  rm -f "$DIR"/linux-image-"$KV"_*_amd64.deb
fi
test -f "$DIR/kroot/lib/modules/$KV/modules.dep" || depmod -a -b "$DIR/kroot" "$KV"
if [ ! -x "$DIR/vng-venv/bin/vng" ]; then
  python3 -m venv "$DIR/vng-venv"
  "$DIR/vng-venv/bin/pip" install -q --disable-pip-version-check virtme-ng
fi
echo "full-kernel tier ready: $DIR/kroot/boot/vmlinuz-$KV"
