import { describe, expect, it } from 'vitest';
import { CniError } from '../../../src/cni/errors.ts';
import { loadFlannelConf, subnetFileWaitMs } from '../../../src/plugins/flannel/conf.ts';

// flannel's config: reference fields and defaults, Go's key matching, and
// errors that name the field.

const load = (doc: unknown) => loadFlannelConf(Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc)));

function loadError(doc: unknown): CniError {
  try {
    load(doc);
  } catch (e) {
    return e as CniError;
  }
  throw new Error('expected an error');
}

describe('loadFlannelConf', () => {
  // Reference case 8.
  it('honours an explicit subnetFile and dataDir and reads name and type', () => {
    const c = load({ name: 'cni-flannel', type: 'flannel', subnetFile: '/tmp/subnet.env', dataDir: '/tmp/data' });
    expect(c).toMatchObject({ name: 'cni-flannel', subnetFile: '/tmp/subnet.env', dataDir: '/tmp/data' });
    expect(c.raw.type).toBe('flannel');
  });

  // Reference case 9.
  it('defaults subnetFile and dataDir to /run/flannel/subnet.env and /var/lib/cni/flannel', () => {
    expect(load({ name: 'cni-flannel', type: 'flannel' })).toMatchObject({
      subnetFile: '/run/flannel/subnet.env',
      dataDir: '/var/lib/cni/flannel',
      cniVersion: '',
    });
    expect(load({ name: 'n', subnetFile: '', dataDir: null })).toMatchObject({
      subnetFile: '/run/flannel/subnet.env',
      dataDir: '/var/lib/cni/flannel',
    });
  });

  it('waits 1.5 s for subnet.env unless subnetFileWaitSeconds says otherwise (0 to 60)', () => {
    expect(subnetFileWaitMs(load({ name: 'n' }))).toBe(1500);
    expect(subnetFileWaitMs(load({ name: 'n', subnetFileWaitSeconds: 0.25 }))).toBe(250);
    expect(subnetFileWaitMs(load({ name: 'n', subnetFileWaitSeconds: 0 }))).toBe(0);
    expect(() => subnetFileWaitMs(load({ name: 'n', subnetFileWaitSeconds: 61 }))).toThrow(new CniError(7, 'subnetFileWaitSeconds must be between 0 and 60, got 61'));
    expect(() => subnetFileWaitMs(load({ name: 'n', subnetFileWaitSeconds: -1 }))).toThrow('subnetFileWaitSeconds must be between 0 and 60, got -1');
    expect(loadError({ name: 'n', subnetFileWaitSeconds: '5' }).msg).toContain('subnetFileWaitSeconds');
  });

  it('matches top-level keys case-insensitively, like Go struct fields', () => {
    const c = load({ Name: 'n', CNIVERSION: '0.3.1', SubnetFile: '/a', DATADIR: '/b', Delegate: { hairpinMode: true }, IPAM: { k: 1 }, RuntimeConfig: { x: 1 } });
    expect(c).toMatchObject({ cniVersion: '0.3.1', subnetFile: '/a', dataDir: '/b', delegate: { hairpinMode: true }, ipam: { k: 1 }, runtimeConfig: { x: 1 } });
  });

  it('keeps delegate, ipam and runtimeConfig keys as written (Go maps)', () => {
    expect(load({ name: 'n', delegate: { HairpinMode: true, Type: 'x' } }).delegate).toEqual({ HairpinMode: true, Type: 'x' });
  });

  it('names a field of the wrong type, with Go\'s wording and code 6', () => {
    const err = loadError({ name: 'n', subnetFile: 5 });
    expect(err.code).toBe(6);
    expect(err.msg).toBe('failed to load netconf: json: cannot unmarshal number into Go struct field NetConf.subnetFile of type string');
    expect(loadError({ name: 'n', delegate: [] }).msg).toBe(
      'failed to load netconf: json: cannot unmarshal array into Go struct field NetConf.delegate of type map[string]interface {}',
    );
    expect(loadError({ name: 'n', ipam: 'host-local' }).msg).toBe(
      'failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.ipam of type map[string]interface {}',
    );
  });

  it('reports broken JSON as a decoding failure', () => {
    const err = loadError('{"name": "n",');
    expect(err.code).toBe(6);
    expect(err.msg).toBe('failed to load netconf: unexpected end of JSON input');
  });
});
