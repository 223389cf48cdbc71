// A small writer of OCI image archives: one image, one platform, layers made
// from staged folders with GNU tar. The archive is an OCI image layout in a
// tar (what `ctr image import` and `skopeo copy oci-archive:` read) that also
// carries docker's manifest.json (what `docker load` and
// `skopeo copy docker-archive:` read), as `docker save` writes it. Same
// inputs, same bytes: sorted entries, fixed times and owners, `gzip -n`.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
};

const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex');

/** Run a command, feeding it `input`; resolves to its stdout. */
export function capture(cmd, args, input) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`${cmd} ${args.join(' ')}: exit status ${code}: ${Buffer.concat(err).toString().trim()}`));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/** A deterministic tar of `entries` (names inside `dir`), owned by root, modes readable, times `epoch`. */
export function deterministicTar(dir, entries, epoch) {
  const args = ['--sort=name', `--mtime=@${epoch}`, '--owner=0', '--group=0', '--numeric-owner', '--mode=a+rX,go-w', '--format=gnu', '-C', dir, '-cf', '-', ...entries];
  return capture('tar', args);
}

/** A layer from the top-level `entries` of `dir`: its gzip blob and the digest of its uncompressed tar (the diff ID). */
export async function layerFrom(dir, entries, epoch) {
  const tar = await deterministicTar(dir, entries, epoch);
  const blob = await capture('gzip', ['-6n'], tar);
  return { blob, diffId: `sha256:${sha256(tar)}` };
}

/**
 * Write `out`: an image named `name` (for example localhost/weft-install:0.1.0)
 * for `platform` ({ os, architecture, variant? }) with `layers` (from
 * layerFrom) and the runtime settings `config` (Entrypoint, Env, Labels, ...).
 */
export async function writeImageArchive(out, { name, platform, layers, config, epoch, history = 'built by weft scripts/package.mjs' }) {
  const created = new Date(epoch * 1000).toISOString().replace('.000Z', 'Z');
  const stage = `${out}.stage`;
  fs.rmSync(stage, { recursive: true, force: true });
  const blobs = path.join(stage, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const putBlob = (data) => {
    const hex = sha256(data);
    fs.writeFileSync(path.join(blobs, hex), data);
    return { digest: `sha256:${hex}`, size: data.length, file: `blobs/sha256/${hex}` };
  };

  const layerBlobs = layers.map((l) => putBlob(l.blob));
  const imageConfig = {
    created,
    architecture: platform.architecture,
    ...(platform.variant ? { variant: platform.variant } : {}),
    os: platform.os,
    config,
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map(() => ({ created, created_by: history })),
  };
  const cfg = putBlob(Buffer.from(JSON.stringify(imageConfig)));
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: { mediaType: MEDIA.config, digest: cfg.digest, size: cfg.size },
    layers: layerBlobs.map((b) => ({ mediaType: MEDIA.layer, digest: b.digest, size: b.size })),
  };
  const man = putBlob(Buffer.from(JSON.stringify(manifest)));
  const tag = name.slice(name.lastIndexOf(':') + 1);
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [
      {
        mediaType: MEDIA.manifest,
        digest: man.digest,
        size: man.size,
        platform,
        // containerd names the image after the first, OCI tools after the second.
        annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': tag },
      },
    ],
  };
  fs.writeFileSync(path.join(stage, 'index.json'), JSON.stringify(index));
  fs.writeFileSync(path.join(stage, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(path.join(stage, 'manifest.json'), JSON.stringify([{ Config: cfg.file, RepoTags: [name], Layers: layerBlobs.map((b) => b.file) }]));
  fs.writeFileSync(out, await deterministicTar(stage, ['blobs', 'index.json', 'manifest.json', 'oci-layout'], epoch));
  fs.rmSync(stage, { recursive: true });
  return { manifestDigest: man.digest, configDigest: cfg.digest };
}
