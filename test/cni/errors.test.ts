import { describe, expect, it } from 'vitest';
import { CniError, ErrorCode, collectedError } from '../../src/cni/errors.ts';

describe('collectedError', () => {
  it('is nothing when nothing failed, and a single error as it is, details and all', () => {
    expect(collectedError([])).toBeUndefined();
    const one = new CniError(ErrorCode.IOFailure, 'cannot read x', 'permission denied');
    expect(collectedError([one])).toBe(one);
  });

  it('joins several into one: the first one\'s code, each message on its own line', () => {
    const joined = collectedError([
      new CniError(ErrorCode.Internal, 'reclaiming c1 eth0: HNS is not running'),
      new CniError(ErrorCode.IOFailure, 'removing /var/lib/cni/flannel/c2', 'read-only file system'),
    ]);
    expect(joined?.toJSON()).toEqual({
      code: ErrorCode.Internal,
      msg: 'reclaiming c1 eth0: HNS is not running\nremoving /var/lib/cni/flannel/c2; read-only file system',
    });
  });
});
