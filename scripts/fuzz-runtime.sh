#!/usr/bin/env bash
# The C runtime Jazzer.js's libFuzzer addon needs. Its only prebuilt Linux binary wants
# glibc >= 2.38 and libstdc++ >= GLIBCXX_3.4.32; Debian 12 has 2.36. Debian 13's libc6,
# libstdc++6 and libgcc-s1 are unpacked (never installed) under .cache/fuzz-runtime, and
# node runs on that loader for fuzzing only. Prints the loader and library path, one per line.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.cache/fuzz-runtime
root=$dir/root
lib=$root/usr/lib/x86_64-linux-gnu
if [ ! -x "$lib/ld-linux-x86-64.so.2" ] || [ ! -e "$lib/libstdc++.so.6" ]; then
  echo "fuzz runtime: fetching Debian 13 (trixie) libc6, libstdc++6, libgcc-s1 into $dir" >&2
  rm -rf "$dir" && mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/debs" "$root"
  echo "deb http://deb.debian.org/debian trixie main" > "$dir/sources.list"
  apt_opts=(-o "Dir::Etc::sourcelist=$PWD/$dir/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$PWD/$dir/lists"
    -o "Dir::Cache=$PWD/$dir/cache" -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root)
  apt-get "${apt_opts[@]}" update -qq >&2
  (cd "$dir/debs" && apt-get "${apt_opts[@]}" download libc6 libstdc++6 libgcc-s1 >&2)
  for d in "$dir"/debs/*.deb; do dpkg-deb -x "$d" "$root"; done
  rm -rf "$dir/lists" "$dir/cache"
fi
echo "$PWD/$lib/ld-linux-x86-64.so.2"
echo "$PWD/$lib"
