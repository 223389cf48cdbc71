import { describe, expect, it } from 'vitest';
import { validateContainerId, validateInterfaceName, validateNetworkName } from '../../src/cni/names.ts';

// pkg/utils/utils_test.go cases (cni-spec.md §4.2).

const plain = (e: ReturnType<typeof validateContainerId>) => e && { code: e.code, msg: e.msg, details: e.details };

describe('container ID', () => {
  it('is code 3 when empty', () => {
    expect(plain(validateContainerId(''))).toEqual({ code: 3, msg: 'missing containerID', details: '' });
  });
  it('is code 4 with the ID as details for bad characters', () => {
    expect(plain(validateContainerId('1234%%%'))).toEqual({ code: 4, msg: 'invalid characters in containerID', details: '1234%%%' });
  });
  it('accepts alphanumerics followed by _ . -', () => {
    for (const id of ['a51debf7e1eb', 'a_b.c-d', '0']) expect(validateContainerId(id)).toBeUndefined();
  });
  it('never accepts a path component that escapes a directory', () => {
    for (const id of ['../x', '.hidden', 'a/b', '-x', '_x', 'a\nb', 'a b']) expect(validateContainerId(id)?.code).toBe(4);
  });
});

describe('network name', () => {
  it('is code 7 "missing network name:" (with the colon) when empty', () => {
    expect(plain(validateNetworkName(''))).toEqual({ code: 7, msg: 'missing network name:', details: '' });
  });
  it('is code 7 for bad characters', () => {
    expect(plain(validateNetworkName('1234%%%'))).toEqual({
      code: 7,
      msg: 'invalid characters found in network name',
      details: '1234%%%',
    });
  });
  it('accepts eth0', () => expect(validateNetworkName('eth0')).toBeUndefined());
});

describe('interface name', () => {
  it('rejects empty', () => expect(validateInterfaceName('')?.msg).toBe('interface name is empty'));
  it('rejects more than 15 bytes', () => {
    expect(plain(validateInterfaceName('testnamemorethan16'))).toEqual({
      code: 4,
      msg: 'interface name is too long',
      details: 'interface name should be less than 16 characters',
    });
    // Bytes, not characters: 8 two-byte characters are 16 bytes.
    expect(validateInterfaceName('éééééééé')?.msg).toBe('interface name is too long');
    expect(validateInterfaceName('123456789012345')).toBeUndefined();
  });
  it('rejects . and ..', () => {
    expect(validateInterfaceName('.')?.msg).toBe('interface name is . or ..');
    expect(validateInterfaceName('..')?.msg).toBe('interface name is . or ..');
  });
  it('rejects /, : and Unicode whitespace', () => {
    for (const n of ['/testname', 'test name', 'a:b', 'a\tb', 'a\u00a0b', 'a\u2003b', 'a\u0085b']) {
      expect(validateInterfaceName(n)?.msg).toBe('interface name contains / or : or whitespace characters');
    }
  });
  it('accepts what Go accepts even where JavaScript sees whitespace', () => {
    expect(validateInterfaceName('a\ufeffb')).toBeUndefined();
    expect(validateInterfaceName('testname')).toBeUndefined();
  });
});
