import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchStore } from '../../../src/plugins/flannel/scratch-store.ts';
import { tempDir } from '../../helpers/tmp.ts';

// Saved delegate configs: whole or absent, private, and always inside dataDir.

describe('scratchStore', () => {
  it('creates dataDir 0700 and files 0600, leaving no temporary file', () => {
    const dataDir = path.join(tempDir(), 'a', 'flannel');
    const store = scratchStore(dataDir);
    store.save('c1', Buffer.from('{"type":"bridge"}'));
    expect(fs.statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(dataDir, 'c1')).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dataDir)).toEqual(['c1']);
    expect(store.load('c1')).toEqual({ state: 'saved', bytes: Buffer.from('{"type":"bridge"}'), type: 'bridge' });
  });

  it('replaces a saved config as a whole (a new inode, never truncated in place)', () => {
    const store = scratchStore(tempDir());
    store.save('c1', Buffer.from('{"type":"bridge","v":1}'));
    const before = fs.statSync(store.fileOf('c1')).ino;
    store.save('c1', Buffer.from('{"type":"bridge","v":2}'));
    expect(fs.statSync(store.fileOf('c1')).ino).not.toBe(before);
    expect(fs.readFileSync(store.fileOf('c1'), 'utf8')).toBe('{"type":"bridge","v":2}');
  });

  it('tells a missing config from a corrupt one', () => {
    const dir = tempDir();
    const store = scratchStore(dir);
    expect(store.load('nope')).toEqual({ state: 'missing' });
    fs.writeFileSync(path.join(dir, 'empty'), '');
    expect(store.load('empty')).toEqual({ state: 'corrupt', reason: 'failed to parse netconf: unexpected end of JSON input' });
    fs.writeFileSync(path.join(dir, 'cut'), '{"ipMasq":false,"ipam":{"ra');
    expect(store.load('cut').state).toBe('corrupt');
    fs.writeFileSync(path.join(dir, 'untyped'), '{"name":"x"}');
    expect(store.load('untyped')).toEqual({ state: 'corrupt', reason: 'failed to parse netconf: no delegate type in it' });
    // types.NetConf reads "Type" too.
    fs.writeFileSync(path.join(dir, 'upper'), '{"Type":"bridge"}');
    expect(store.load('upper')).toMatchObject({ state: 'saved', type: 'bridge' });
  });

  it('refuses keys that are not plain file names', () => {
    const store = scratchStore(tempDir());
    for (const key of ['../x', 'a/b', '.x', '', '..']) expect(() => store.fileOf(key)).toThrow('invalid characters in containerID');
  });

  it('lists saved keys only, and removes leftovers of interrupted writes', () => {
    const dir = tempDir();
    const store = scratchStore(dir);
    store.save('c1', Buffer.from('{"type":"bridge"}'));
    store.save('c2', Buffer.from('{"type":"bridge"}'));
    fs.writeFileSync(path.join(dir, '.c3.0a1b2c.tmp'), '{"ty');
    expect(store.keys().sort()).toEqual(['c1', 'c2']);
    store.removeLeftovers();
    expect(fs.readdirSync(dir).sort()).toEqual(['c1', 'c2']);
    store.remove('c1');
    store.remove('c1');
    expect(store.keys()).toEqual(['c2']);
  });

  it('has no keys when dataDir does not exist yet', () => {
    expect(scratchStore(path.join(tempDir(), 'none')).keys()).toEqual([]);
  });

  it('reports a dataDir that is a file as an I/O error naming it, not as an internal error about a temporary file', () => {
    const file = path.join(tempDir(), 'plain');
    fs.writeFileSync(file, 'x');
    const store = scratchStore(file);
    const err = (() => {
      try {
        store.save('c1', Buffer.from('{"type":"bridge"}'));
      } catch (e) {
        return e as { code: number; msg: string };
      }
    })();
    expect(err).toMatchObject({ code: 5, msg: `failed to save delegate config: mkdir ${file}: not a directory` });
    // A file further up: the same words, for the directory that could not be made.
    expect(() => scratchStore(path.join(file, 'sub')).save('c1', Buffer.from('{"type":"bridge"}'))).toThrow(
      `failed to save delegate config: mkdir ${path.join(file, 'sub')}: not a directory`,
    );
    expect(fs.readFileSync(file, 'utf8')).toBe('x');
  });

  it('finds nothing saved, and nothing to list, below a dataDir that is a file (DEL and GC go on)', () => {
    const file = path.join(tempDir(), 'plain');
    fs.writeFileSync(file, 'x');
    expect(scratchStore(file).load('c1')).toEqual({ state: 'missing' });
    expect(scratchStore(path.join(file, 'sub')).load('c1')).toEqual({ state: 'missing' });
    expect(scratchStore(file).keys()).toEqual([]);
  });

  it('reads a directory in the place of a saved config as corrupt, and removes it if empty', () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'c1'));
    const store = scratchStore(dir);
    expect(store.load('c1').state).toBe('corrupt');
    expect(store.keys()).toEqual([]);
    store.remove('c1');
    expect(fs.existsSync(path.join(dir, 'c1'))).toBe(false);
  });
});
