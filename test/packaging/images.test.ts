import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../helpers/run.ts';
import { repoRoot, tempDir } from '../helpers/tmp.ts';
import { readImageArchive } from './image-archive.ts';

// The install images as OCI and docker tools read them (containerd runs the
// amd64 one in containerd.test.ts; the arm64 one runs under qemu here).

const { version } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
const archive = (arch: string) => path.join(repoRoot, 'dist', 'packages', `weft-${version}-install-image-linux-${arch}.tar`);
const IMAGE = `localhost/weft-install:${version}`;
const QEMU = '/usr/bin/qemu-aarch64-static';

const ARCHES = [
  { arch: 'amd64', platform: { architecture: 'amd64', os: 'linux' }, loader: 'lib64/ld-linux-x86-64.so.2', machine: 0x3e },
  { arch: 'arm64', platform: { architecture: 'arm64', os: 'linux', variant: 'v8' }, loader: 'lib/ld-linux-aarch64.so.1', machine: 0xb7 },
];

describe.each(ARCHES)('install image linux/$arch', ({ arch, platform, loader, machine }) => {
  it('is an OCI layout whose digests hold, naming the image for containerd and docker alike', () => {
    const img = readImageArchive(archive(arch), tempDir('weft-img-'));
    expect(JSON.parse(fs.readFileSync(path.join(img.dir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    expect(img.index.manifests).toHaveLength(1);
    const [desc] = img.index.manifests;
    expect(desc!.platform).toEqual(platform);
    expect(desc!.annotations).toEqual({ 'io.containerd.image.name': IMAGE, 'org.opencontainers.image.ref.name': version });
    expect(img.manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(img.manifest.layers.map((l) => l.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar+gzip']);
    expect(img.config).toMatchObject({ ...platform, rootfs: { type: 'layers' } });
    expect(img.config.rootfs.diff_ids).toEqual([`sha256:${crypto.createHash('sha256').update(img.layerTar).digest('hex')}`]);
    expect(img.config.config.Entrypoint).toEqual(['/opt/weft/bin/flannel', '--weft-install']);
    expect(img.config.config.Labels['org.opencontainers.image.version']).toBe(version);
    expect(img.docker).toEqual([
      { Config: `blobs/sha256/${img.manifest.config.digest.slice(7)}`, RepoTags: [IMAGE], Layers: [`blobs/sha256/${img.manifest.layers[0]!.digest.slice(7)}`] },
    ]);
  });

  it('holds the executables as hard links of one file, the conflist and the C libraries, all root-owned, nothing else', () => {
    const dir = tempDir('weft-layer-');
    const img = readImageArchive(archive(arch), dir);
    const listing = execFileSync('tar', ['-tv', '--numeric-owner'], { input: img.layerTar, encoding: 'utf8' }).trim().split('\n');
    expect(listing.every((l) => l.split(/\s+/)[1] === '0/0')).toBe(true);
    const names = execFileSync('tar', ['-t'], { input: img.layerTar, encoding: 'utf8' }).trim().split('\n').map((n) => n.replace(/\/$/, ''));
    const libs = ['libc.so.6', 'libdl.so.2', 'libgcc_s.so.1', 'libm.so.6', 'libpthread.so.0', 'libstdc++.so.6'].map((l) => `lib/${l}`);
    const bins = ['bridge', 'cnitool', 'flannel', 'host-local'].map((n) => `opt/weft/bin/${n}`);
    expect(new Set(names)).toEqual(
      new Set(['lib', ...(loader.startsWith('lib64') ? ['lib64'] : []), loader, ...libs, 'opt', 'opt/weft', 'opt/weft/bin', ...bins, 'opt/weft/conf', 'opt/weft/conf/10-flannel.conflist']),
    );
    // One file, three hard links to it.
    expect(listing.filter((l) => / link to opt\/weft\/bin\/bridge$/.test(l))).toHaveLength(3);
    const root = path.join(dir, 'rootfs');
    fs.mkdirSync(root);
    execFileSync('tar', ['-x', '-C', root], { input: img.layerTar });
    const exe = fs.readFileSync(path.join(root, 'opt', 'weft', 'bin', 'flannel'));
    expect(exe.readUInt16LE(18)).toBe(machine);
  });

  it('reads as docker-archive and oci-archive with skopeo', async () => {
    for (const transport of ['docker-archive', 'oci-archive']) {
      const r = await run('skopeo', ['--override-os', 'linux', '--override-arch', arch, 'inspect', '--config', `${transport}:${archive(arch)}`]);
      expect(r.code, r.stderr).toBe(0);
      const cfg = JSON.parse(r.stdout);
      expect({ architecture: cfg.architecture, os: cfg.os, entrypoint: cfg.config.Entrypoint }).toEqual({
        architecture: arch,
        os: 'linux',
        entrypoint: ['/opt/weft/bin/flannel', '--weft-install'],
      });
    }
  });
});

describe('install image linux/arm64 under qemu', () => {
  it('runs its entrypoint on its own C libraries: VERSION, and an install into a CNI bin folder', async () => {
    const dir = tempDir('weft-arm64-img-');
    const img = readImageArchive(archive('arm64'), dir);
    const root = path.join(dir, 'rootfs');
    fs.mkdirSync(root);
    execFileSync('tar', ['-x', '-C', root], { input: img.layerTar });
    // qemu -L: the image's own /lib is the only library folder.
    const inImage = (args: string[], env: Record<string, string>, stdin = '') =>
      run('env', ['-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), QEMU, '-L', root, path.join(root, 'opt', 'weft', 'bin', 'flannel'), ...args], { stdin });
    const v = await inImage([], { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}');
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout).cniVersion).toBe('1.1.0');
    const bin = path.join(dir, 'cni-bin');
    const inst = await inImage(['--weft-install', '--bin-dir', bin], {});
    expect(inst.code, inst.stderr).toBe(0);
    expect(fs.readdirSync(bin).filter((f) => !f.startsWith('.') && !f.endsWith('.codecache')).sort()).toEqual(['bridge', 'cnitool', 'flannel', 'host-local']);
    expect(fs.readFileSync(path.join(bin, 'flannel')).readUInt16LE(18)).toBe(0xb7);
  });
});
