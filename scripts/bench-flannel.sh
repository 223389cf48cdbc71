#!/bin/sh
# flannel ADD and DEL wall time and peak memory, weft against a reference
# flannel binary when one is given (REF_FLANNEL=/path/to/flannel; none ships
# in /usr/lib/cni). The delegate is a trivial script, so the figures are
# flannel's own cost: start-up, subnet.env, the saved config, one exec.
# "node -e 0" is the floor any Node plugin starts from. Figures on a shared
# machine vary; compare cpu (user+sys) rather than wall time.
# Needs hyperfine and GNU time; run `npm run build` first.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unset NODE_EXTRA_CA_CERTS

mkdir "$work/bin"
printf '#!/bin/sh\ncat >/dev/null\n[ "$CNI_COMMAND" = ADD ] && echo %s\nexit 0\n' \
  "'{\"cniVersion\":\"0.3.1\",\"ips\":[{\"version\":\"4\",\"address\":\"10.244.1.2/24\"}],\"dns\":{}}'" > "$work/bin/bridge"
chmod +x "$work/bin/bridge"
ln -s "$root/dist/cni-bin/weft.cjs" "$work/bin/flannel"
echo '{"type":"commonjs"}' > "$work/bin/package.json"
printf 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n' > "$work/subnet.env"
printf '{"cniVersion":"0.3.1","name":"cbr0","type":"flannel","subnetFile":"%s","dataDir":"%s","delegate":{"hairpinMode":true,"isDefaultGateway":true}}' \
  "$work/subnet.env" "$work/data" > "$work/conf.json"

export CNI_CONTAINERID=bench CNI_NETNS=/var/run/netns/bench CNI_IFNAME=eth0 CNI_PATH="$work/bin"

set -- "node-e-0:node -e 0" "weft:$work/bin/flannel"
[ -n "${REF_FLANNEL:-}" ] && set -- "$@" "reference:$REF_FLANNEL"

for entry in "$@"; do
  name=${entry%%:*}; bin=${entry#*:}
  for cmd in ADD DEL; do
    # Every DEL finds the config its ADD saved.
    prepare=true
    [ "$cmd" = DEL ] && prepare="CNI_COMMAND=ADD $bin < $work/conf.json >/dev/null 2>&1"
    hyperfine --style none --warmup 5 --min-runs 50 --export-json "$work/$name-$cmd.json" \
      --prepare "$prepare" "CNI_COMMAND=$cmd $bin < $work/conf.json" >/dev/null
    mean=$(node -e "const r=require('$work/$name-$cmd.json').results[0]; console.log('wall '+(r.mean*1000).toFixed(1)+' ms ± '+(r.stddev*1000).toFixed(1)+', cpu '+((r.user+r.system)*1000).toFixed(1)+' ms')")
    sh -c "$prepare"
    rss=$(CNI_COMMAND=$cmd /usr/bin/time -o "$work/rss" -f %M $bin < "$work/conf.json" >/dev/null 2>&1; cat "$work/rss")
    printf '%-10s %-4s %s, peak RSS %s KiB\n' "$name" "$cmd" "$mean" "$rss"
  done
done
