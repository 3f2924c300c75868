#!/usr/bin/env bash
# The main job on the embedded default: a worker on a local spool inspects a real
# guest disk (an RPM guest built with qemu-img, mkfs.ext4 and the real rpm), the
# way a fleet worker would: job file in, result file out.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-system.sh
bash test/fixtures/inspect/build-distros.sh >/dev/null
image="$PWD/test/fixtures/out/inspect/rpm-guest.qcow2"
demo="$PWD/.cache/demo"
rm -rf "$demo" && mkdir -p "$demo/jobs" "$demo/results"
gk() { node bin/guestkit.js "$@"; }

node bin/guestkit.js worker --jobs-dir "$demo/jobs" --results-dir "$demo/results" --data-dir "$demo/state" \
  --allow-path "$PWD/test/fixtures/out" --max-concurrent 2 --log-level warn &
worker=$!
trap 'kill -TERM $worker 2>/dev/null; wait $worker 2>/dev/null || true' EXIT

echo "guestkit: worker $worker watching $demo/jobs"
gk job create system.echo --data '{"message":"Hello from guestkit worker!"}' --job-id demo-echo-0001 >"$demo/jobs/.echo.tmp"
mv "$demo/jobs/.echo.tmp" "$demo/jobs/demo-echo-0001.json"
gk job create guestkit.inspect --image "$image" --format qcow2 --job-id demo-inspect-0001 --priority 7 >"$demo/jobs/.inspect.tmp"
mv "$demo/jobs/.inspect.tmp" "$demo/jobs/demo-inspect-0001.json"

for id in demo-echo-0001 demo-inspect-0001; do
  for _ in $(seq 1 600); do [ -f "$demo/results/$id-result.json" ] && break; sleep 0.1; done
  [ -f "$demo/results/$id-result.json" ] || { echo "guestkit: no result for $id after 60 s" >&2; exit 1; }
done
node -e '
const fs = require("fs");
for (const id of ["demo-echo-0001", "demo-inspect-0001"]) {
  const r = JSON.parse(fs.readFileSync(`${process.argv[1]}/${id}-result.json`, "utf8"));
  console.log(`${id}: ${r.status} in ${r.execution_summary?.duration_seconds}s on ${r.worker_id}`);
  if (r.error) console.log(`  error: ${r.error.code}: ${r.error.message}`);
  const os = r.data?.operating_systems?.[0];
  if (os) {
    console.log(`  ${os.product_name} (${os.distro} ${os.major_version}.${os.minor_version}, ${os.arch}) on ${os.root}, hostname ${os.hostname}`);
    console.log(`  ${os.applications?.length ?? 0} packages (${os.package_format}/${os.package_management}), ${os.users?.length ?? 0} users, SELinux ${os.security?.selinux?.mode ?? "n/a"}`);
  } else if (r.data?.echo) console.log(`  echo: ${JSON.stringify(r.data.echo)}`);
}' "$demo/results"
echo "guestkit: results in $demo/results"
