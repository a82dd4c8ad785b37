#!/usr/bin/env bash
# Installs what RnnCluster needs on Debian 12, only where it is missing:
#   libtorch-dev          libtorch 1.13.1 headers and libraries (the compute engine)
#   libopenblas0-pthread  OpenBLAS; without it Debian's libtorch uses reference BLAS (~17x slower)
#   cmake g++             to build the native bridge in Shared/Native
#   python3-torch         PyTorch on the same libtorch: the cross-check test and the benchmarks
# The .NET 10 SDK must already be on PATH (it is not a Debian package).
set -euo pipefail

packages=(libtorch-dev libopenblas0-pthread cmake g++ make python3-torch)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: the .NET 10 SDK is required (dotnet not found on PATH)" >&2
  exit 1
fi
