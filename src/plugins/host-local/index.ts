import { parsePrevResult, validAttachments } from '../../cni/conf.ts';
import { step } from '../../cni/profile.ts';
import { printResult } from '../../cni/result/encode.ts';
import type { Result100 } from '../../cni/result/types.ts';
import type { CmdArgs, Plugin } from '../../cni/skel.ts';
import { ALL_VERSIONS } from '../../cni/version.ts';
import { formatIP } from '../../net/ip.ts';
import { addAttachment } from '../../ipam/host-local/add.ts';
import { checkAttachment } from '../../ipam/host-local/check.ts';
import { loadIpamConfig } from '../../ipam/host-local/config.ts';
import { delAttachment } from '../../ipam/host-local/del.ts';
import { parseResolvConf } from '../../ipam/host-local/dns.ts';
import { gcLeases } from '../../ipam/host-local/gc.ts';
import { statusOf } from '../../ipam/host-local/status.ts';

// host-local IPAM: leases addresses from the configured ranges in the
// reference plugin's on-disk store (src/ipam/host-local).

const config = (args: CmdArgs) => step('config', () => loadIpamConfig(args.stdinData, args.args));

async function add(args: CmdArgs): Promise<string> {
  const conf = config(args);
  // resolv.conf is read first: a bad one fails the ADD before anything is leased.
  const dns = conf.resolvConf ? parseResolvConf(conf.resolvConf) : undefined;
  const allocations = await addAttachment(conf, args.containerId, args.ifName);
  const result: Result100 = {
    cniVersion: '1.1.0',
    ips: allocations.map((a) => ({
      address: `${formatIP(a.ip)}/${a.range.subnet.prefix}`,
      ...(a.range.gateway ? { gateway: formatIP(a.range.gateway) } : {}),
    })),
    routes: conf.routes,
  };
  if (dns) result.dns = dns;
  return printResult(result, conf.cniVersion);
}

async function del(args: CmdArgs): Promise<void> {
  // Like the reference, a config that does not load fails DEL too.
  const conf = config(args);
  await delAttachment(conf, args.containerId, args.ifName);
}

async function check(args: CmdArgs): Promise<void> {
  const conf = loadIpamConfig(args.stdinData, args.args);
  await checkAttachment(conf, args.containerId, args.ifName, parsePrevResult(conf.conf));
}

async function gc(args: CmdArgs): Promise<void> {
  const conf = loadIpamConfig(args.stdinData, args.args);
  await gcLeases(conf, validAttachments(conf.doc));
}

async function status(args: CmdArgs): Promise<void> {
  const conf = loadIpamConfig(args.stdinData, args.args);
  await statusOf(conf);
}

export const plugin: Plugin = {
  type: 'host-local',
  about: 'CNI host-local plugin (weft)',
  versions: ALL_VERSIONS,
  add,
  del,
  check,
  gc,
  status,
};
