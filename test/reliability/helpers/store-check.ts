import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { parseIP } from '../../../src/net/ip.ts';
import { decodeRecord, isRecordKey } from '../../../src/plugins/attachments/record.ts';
import { isLeaseName, listFiles, readLeases } from './node.ts';

// What a crash, a full disk or a failed command may leave in host-local's
// and flannel's data directories (and weft's records beside them): only
// whole files. These checks read the
// directories as an operator (or the reference plugin) would.

/** host-local's dataDir: whole leases, parsable last_reserved_ip files, and weft's own state only. */
export function expectWholeHostLocalStore(dataDir: string, network: string): Map<string, string> {
  const netDir = path.join(dataDir, network);
  if (fs.existsSync(netDir)) {
    for (const name of fs.readdirSync(netDir)) {
      const file = path.join(netDir, name);
      expect(fs.lstatSync(file).isFile(), `${file} is not a regular file`).toBe(true);
      const content = fs.readFileSync(file, 'utf8');
      if (name === 'lock') continue;
      if (name.startsWith('last_reserved_ip.')) {
        expect(parseIP(content), `${file} holds ${JSON.stringify(content)}`).toBeDefined();
        continue;
      }
      expect(isLeaseName(name), `stray file ${file}`).toBe(true);
      expect(content, `lease ${file}`).toMatch(/^[A-Za-z0-9_.-]+\r\n[^\r\n]+$/);
    }
  }
  const stateDir = path.join(dataDir, '.weft', network);
  if (fs.existsSync(stateDir)) {
    for (const n of fs.readdirSync(stateDir)) expect(['index.0', 'index.1', 'intent', 'tmp', 'attachments'], `${stateDir}/${n}`).toContain(n);
    expect(listFiles(path.join(stateDir, 'tmp')), 'temporary files left').toEqual([]);
  }
  return readLeases(netDir);
}

/** weft's attachment records beside host-local's store: whole records only (no temporary file, no lock); their names. */
export function expectWholeAttachmentRecords(dataDir: string, network: string): string[] {
  const dir = path.join(dataDir, '.weft', network, 'attachments');
  const names = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
  for (const n of names) {
    expect(isRecordKey(n), `${dir}/${n} is not a record (a temporary file or lock left behind?)`).toBe(true);
    const decoded = decodeRecord(fs.readFileSync(path.join(dir, n), 'utf8'));
    expect('corrupt' in decoded ? decoded.corrupt : '', `${dir}/${n}`).toBe('');
  }
  return names;
}

/** flannel's dataDir: one whole saved config per container, no temporary files. */
export function expectWholeScratchDir(dataDir: string): string[] {
  const names = listFiles(dataDir);
  for (const n of names) {
    expect(n.startsWith('.'), `temporary file ${n} left in ${dataDir}`).toBe(false);
    const doc = JSON.parse(fs.readFileSync(path.join(dataDir, n), 'utf8')) as { type?: unknown };
    expect(typeof doc.type, `${n} has no delegate type`).toBe('string');
  }
  return names;
}
