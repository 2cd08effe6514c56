#!/usr/bin/env bash
# Installs the system packages a fresh Debian bookworm machine lacks for this project:
# lavapipe (Mesa's software Vulkan driver, from bookworm-backports: bookworm's own Mesa 22.3 is too old
# for Dawn), cmake and a C++ compiler for the addon, Debian's NumPy for the benchmark peers, and PyTorch for the
# training interop tests and peers, and SciPy for the clustering tests and peers.
# Safe to run twice; does nothing it cannot do when not root.
set -euo pipefail
log() { echo "[install-system] $*" >&2; }
if [ "$(id -u)" != 0 ]; then log "not root: skipping apt (install mesa-vulkan-drivers from bookworm-backports yourself)"; exit 0; fi
export DEBIAN_FRONTEND=noninteractive
need=()
command -v cmake >/dev/null || need+=(cmake)
command -v g++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
/usr/bin/python3 -c 'import numpy' 2>/dev/null || need+=(python3-numpy)
# SciPy (1.10): averageLinkage is tested against its linkage(); pdist/cdist/linkage are benchmark peers.
/usr/bin/python3 -c 'import scipy' 2>/dev/null || need+=(python3-scipy)
# PyTorch CPU (1.13): the training tests load our checkpoints into its modules and its weights into ours.
/usr/bin/python3 -c 'import torch' 2>/dev/null || need+=(python3-torch)
# NumPy's `@` on Debian links the reference BLAS unless OpenBLAS is installed: the matmul peer must be OpenBLAS.
[ -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ] || need+=(libopenblas0-pthread)
ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 || want_lvp=1
mesa_ok=0
if dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '^2[5-9]\.'; then mesa_ok=1; fi
if [ "$mesa_ok" = 0 ]; then
  src=/etc/apt/sources.list.d/debian.sources
  if [ -f "$src" ] && [ ! -f /etc/apt/sources.list.d/backports.sources ]; then
    uri=$(awk '/^URIs:/{print $2; exit}' "$src")
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" \
      > /etc/apt/sources.list.d/backports.sources
    log "added bookworm-backports from $uri"
  fi
fi
if [ "$mesa_ok" = 0 ] || [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  [ ${#need[@]} -gt 0 ] && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  [ "$mesa_ok" = 0 ] && apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers >/dev/null
fi
log "mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || echo missing)"
