#!/usr/bin/env bash
# npm start: `guestkit serve`, the embedded default (REST API, worker pool, SQLite and a file
# spool, all under ./.guestkit), and a first job through it: a real RPM guest disk, built with
# qemu-img, mkfs.ext4 and the real rpm, inspected over the API. The server keeps running
# until Ctrl-C (GUESTKIT_DEMO_EXIT=1 stops it after the demo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-system.sh demo
log="$PWD/.cache/demo-build.log"
mkdir -p .cache
echo "guestkit: building the demo guest disk (log: $log)"
bash test/fixtures/inspect/build-distros.sh >"$log" 2>&1 || { tail -20 "$log" >&2; exit 1; }
image="$PWD/test/fixtures/out/inspect/rpm-guest.qcow2"
data="${GUESTKIT_DATA_DIR:-$PWD/.guestkit}"
port="${GUESTKIT_PORT:-8080}"
gk() { bin/guestkit.js "$@"; }

bin/guestkit.js serve --data-dir "$data" --port "$port" --allow-path "$PWD/test/fixtures/out" \
  --log-level "${GUESTKIT_LOG_LEVEL:-warn}" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
export GUESTKIT_SERVER="http://127.0.0.1:$port" GUESTKIT_DATA_DIR="$data"
for _ in $(seq 1 100); do
  kill -0 $server 2>/dev/null || { echo "guestkit: the server did not start (see above)" >&2; exit 1; }
  gk workers >/dev/null 2>&1 && break
  sleep 0.2
done
echo "guestkit: serving $GUESTKIT_SERVER/api/v1 (data in $data)"

gk job create system.echo --data '{"message":"Hello from guestkit serve!"}' | gk job submit - --wait >/dev/null
gk job create guestkit.inspect --image "$image" --format qcow2 --priority 7 --name "demo rpm guest" \
  | gk job submit - --wait --json >"$PWD/.cache/demo-job.json"
id=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).job.job_id' "$PWD/.cache/demo-job.json")
gk job result "$id" -o "$PWD/.cache/demo-inspect.json"
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const os = r.data?.operating_systems?.[0];
console.log(`inspected ${process.argv[2]}: ${r.status} in ${r.execution_summary?.duration_seconds}s (job ${r.job_id})`);
if (os) {
  console.log(`  ${os.pretty_name ?? os.product_name} — ${os.distro} ${os.major_version}.${os.minor_version}, ${os.arch}, hostname ${os.hostname}`);
  console.log(`  ${os.applications?.length ?? 0} packages (${os.package_format}), users: ${os.users?.length ?? 0}, SELinux ${os.security?.selinux?.mode ?? "n/a"}`);
}
if (r.error) console.log(`  error: ${r.error.code}: ${r.error.message}`);' "$PWD/.cache/demo-inspect.json" "$image"

cat <<EOF

Try next (in another terminal, from this folder):
  npx guestkit job list                                  # the jobs on this server
  npx guestkit job create guestkit.inspect --image $image | npx guestkit job submit - --wait
  curl -s -H "Authorization: Bearer \$(cat $data/admin-token)" $GUESTKIT_SERVER/api/v1/workers
The dashboard is at $GUESTKIT_SERVER/ (sign in with the admin token in $data/admin-token).
Ctrl-C stops the server.
EOF
[ "${GUESTKIT_DEMO_EXIT:-0}" = 1 ] && exit 0
wait $server
