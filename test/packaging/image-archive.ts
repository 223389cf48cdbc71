import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

// Reading an image archive as a runtime does: index.json → manifest →
// config and layers, each blob checked against its digest.

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string; variant?: string };
  annotations?: Record<string, string>;
}

export interface UnpackedImage {
  dir: string;
  index: { schemaVersion: number; manifests: Descriptor[] };
  manifest: { schemaVersion: number; mediaType: string; config: Descriptor; layers: Descriptor[] };
  config: {
    architecture: string;
    os: string;
    variant?: string;
    config: { Entrypoint: string[]; Env: string[]; Labels: Record<string, string> };
    rootfs: { type: string; diff_ids: string[] };
  };
  docker: Array<{ Config: string; RepoTags: string[]; Layers: string[] }>;
  /** The layer's uncompressed tar. */
  layerTar: Buffer;
}

const sha256 = (b: Buffer) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

/** Unpack `archive` into `dir` and read it, checking every digest and size on the way. */
export function readImageArchive(archive: string, dir: string): UnpackedImage {
  execFileSync('tar', ['-xf', archive, '-C', dir]);
  const blob = (d: Descriptor): Buffer => {
    const data = fs.readFileSync(path.join(dir, 'blobs', ...d.digest.split(':')));
    if (sha256(data) !== d.digest) throw new Error(`${d.digest}: content has another digest`);
    if (data.length !== d.size) throw new Error(`${d.digest}: ${data.length} bytes, descriptor says ${d.size}`);
    return data;
  };
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as UnpackedImage['index'];
  const manifest = JSON.parse(blob(index.manifests[0]!).toString()) as UnpackedImage['manifest'];
  const config = JSON.parse(blob(manifest.config).toString()) as UnpackedImage['config'];
  const layerTar = zlib.gunzipSync(blob(manifest.layers[0]!));
  const docker = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as UnpackedImage['docker'];
  return { dir, index, manifest, config, docker, layerTar };
}
