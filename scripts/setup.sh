#!/usr/bin/env bash
# Installs what RnnCluster still needs from Debian 12, only where it is missing:
#   python3-torch   PyTorch (1.13) for the cross-checks: the PyTorch interop tests load our checkpoints
#                   into plain PyTorch modules, and bench/ compares against it.
#   libopenblas0    the BLAS PyTorch's matrix products call: libtorch1.13 only recommends it, and without it
#                   (recommends are not installed here) PyTorch runs on the reference BLAS, 22x slower on a
#                   700x200x10000 product (700 vs 31 ms), which made the DDP reference of bench/ 20x slower.
#   fonts-dejavu-core the text of `rnncluster report`'s charts: Skia (no fontconfig) reads /usr/share/fonts.
#   npm             only where no `npm` command exists (a Node.js from elsewhere brings its own): the
#                   build fetches the dashboard's chart library with it (build/DashboardAssets.targets).
#   chromium        with --tests only: the dashboard's browser tests drive it headless.
# The compute engine itself, TorchSharp with libtorch 2.10 (CPU), comes from NuGet at build time: no
# C++ is compiled, and the build makes TorchSharp's native library load on Debian 12's libstdc++
# (build/TorchSharpNative.targets). The .NET 10 SDK must already be on PATH (it is not a Debian package).
set -euo pipefail

packages=(python3-torch libopenblas0 fonts-dejavu-core)
if [ "${1:-}" = "--tests" ]; then packages+=(chromium); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
command -v npm >/dev/null 2>&1 || missing+=(npm)

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
