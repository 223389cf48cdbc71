import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/tmp.ts';

// conf/kubernetes/kube-flannel.yml against the Kubernetes API schema
// (kubernetes-models: validators generated from Kubernetes' OpenAPI), and
// against what it promises: kube-flannel's manifest with weft's install
// image in place of its CNI init containers. containerd.test.ts runs its
// init container.

const { version } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
const file = path.join(repoRoot, 'conf', 'kubernetes', 'kube-flannel.yml');

interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [k: string]: unknown;
}

const documents = (text = fs.readFileSync(file, 'utf8')): Doc[] => parseAllDocuments(text).map((d) => d.toJS() as Doc);

/** Validate with the schema of the document's apiVersion and kind; throws what the schema says. */
async function validate(doc: Doc): Promise<void> {
  const group = doc.apiVersion.includes('/') ? doc.apiVersion : `v1`;
  const mod = (await import(`kubernetes-models/${group}/${doc.kind}`)) as Record<string, new (d: unknown) => { validate(): void }>;
  new mod[doc.kind]!(doc).validate();
}

const daemonSet = (docs: Doc[]) => docs.find((d) => d.kind === 'DaemonSet') as unknown as {
  spec: { template: { spec: { initContainers: Array<Record<string, unknown>>; containers: Array<Record<string, unknown>>; volumes: Array<Record<string, unknown>> } } };
};

describe('kube-flannel.yml for weft', () => {
  it('validates against the Kubernetes API schema, every document', async () => {
    const docs = documents();
    expect(docs.map((d) => `${d.apiVersion} ${d.kind}`)).toEqual([
      'v1 Namespace',
      'rbac.authorization.k8s.io/v1 ClusterRole',
      'rbac.authorization.k8s.io/v1 ClusterRoleBinding',
      'v1 ServiceAccount',
      'v1 ConfigMap',
      'apps/v1 DaemonSet',
    ]);
    for (const doc of docs) await validate(doc);
  });

  it('is checked by a schema that rejects a wrong manifest', async () => {
    const ds = documents().find((d) => d.kind === 'DaemonSet')!;
    const broken = structuredClone(ds) as unknown as ReturnType<typeof daemonSet>;
    broken.spec.template.spec.initContainers[0]!.args = '--bin-dir /opt/cni/bin';
    await expect(validate(broken as unknown as Doc)).rejects.toThrow(/initContainers\/0\/args must be array/);
    const noSelector = structuredClone(ds) as unknown as { spec: Record<string, unknown> };
    delete noSelector.spec.selector;
    await expect(validate(noSelector as unknown as Doc)).rejects.toThrow(/selector/);
  });

  it("runs weft's install image, this version, in place of kube-flannel's two CNI init containers", () => {
    const spec = daemonSet(documents()).spec.template.spec;
    expect(spec.initContainers.map((c) => c.name)).toEqual(['install-weft']);
    const init = spec.initContainers[0]!;
    expect(init.image).toBe(`localhost/weft-install:${version}`);
    expect(init.command).toBeUndefined();
    expect(init.args).toEqual(['--bin-dir', '/opt/cni/bin', '--conf', '/etc/kube-flannel/cni-conf.json', '--conf-dir', '/etc/cni/net.d', '--overwrite-conf']);
    const hostPaths = Object.fromEntries(spec.volumes.filter((v) => v.hostPath).map((v) => [v.name, (v.hostPath as { path: string }).path]));
    expect(hostPaths).toMatchObject({ 'cni-plugin': '/opt/cni/bin', cni: '/etc/cni/net.d', run: '/run/flannel' });
  });

  it("keeps flanneld as kube-flannel runs it, and the ConfigMap's conflist is the one weft ships", () => {
    const docs = documents();
    const flanneld = daemonSet(docs).spec.template.spec.containers;
    expect(flanneld).toHaveLength(1);
    expect(flanneld[0]).toMatchObject({ name: 'kube-flannel', command: ['/opt/bin/flanneld'], args: ['--ip-masq', '--kube-subnet-mgr'] });
    expect(String(flanneld[0]!.image)).toMatch(/^ghcr\.io\/flannel-io\/flannel:v\d+\.\d+\.\d+$/);
    const cm = docs.find((d) => d.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    expect(JSON.parse(cm.data['cni-conf.json']!)).toEqual(JSON.parse(fs.readFileSync(path.join(repoRoot, 'conf', 'linux', '10-flannel.conflist'), 'utf8')));
    expect(JSON.parse(cm.data['net-conf.json']!)).toMatchObject({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } });
  });
});
