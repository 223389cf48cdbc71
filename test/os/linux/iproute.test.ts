import { describe, expect, it } from 'vitest';
import { CniError } from '../../../src/cni/errors.ts';
import { IpBatchError, type IpCommand, batchLine, isBatchSafe, kernelError, parseJsonArrays, runBatch } from '../../../src/os/linux/iproute.ts';

// The batch runner's bookkeeping, with a scripted stand-in for `ip -batch`.

const cmd = (text: string, extra: Partial<IpCommand> = {}): IpCommand => ({ argv: text.split(' '), ...extra });

/** A runner that fails the given 1-based line of each attempt with `error`, once per entry. */
function scripted(failures: { line: number; error: string }[]) {
  const seen: string[] = [];
  const runner = async (text: string) => {
    seen.push(text);
    const f = failures.shift();
    if (!f) return { code: 0, stdout: 'ok\n', stderr: '' };
    return { code: 1, stdout: '', stderr: `${f.error}\nCommand failed -:${f.line}\n` };
  };
  return { runner, seen };
}

describe('runBatch', () => {
  it('sends all lines in one process when nothing fails', async () => {
    const s = scripted([]);
    expect(await runBatch([cmd('link set dev a up'), cmd('link set dev b up')], s.runner)).toBe('ok\n');
    expect(s.seen).toEqual(['link set dev a up\nlink set dev b up\n']);
  });

  it('goes on after a tolerated failure with the lines that did not run', async () => {
    const s = scripted([{ line: 1, error: 'RTNETLINK answers: File exists' }]);
    await runBatch([cmd('link add name br0 type bridge', { tolerate: /^file exists$/ }), cmd('link set dev br0 up')], s.runner);
    expect(s.seen).toEqual(['link add name br0 type bridge\nlink set dev br0 up\n', 'link set dev br0 up\n']);
  });

  it('reports the failing line with its own message and the index across attempts', async () => {
    const s = scripted([
      { line: 1, error: 'RTNETLINK answers: File exists' },
      { line: 2, error: 'Error: Nexthop has invalid gateway.' },
    ]);
    const cmds = [
      cmd('link add name br0 type bridge', { tolerate: /^file exists$/ }),
      cmd('link set dev br0 up'),
      cmd('route add 10.0.0.0/8 via 1.2.3.4', { onError: (d) => new CniError(999, `failed to add route: ${d}`) }),
    ];
    const err = await runBatch(cmds, s.runner).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IpBatchError);
    expect((err as IpBatchError).index).toBe(2);
    expect((err as IpBatchError).detail).toBe('Nexthop has invalid gateway.');
    expect((err as IpBatchError).message).toBe('failed to add route: Nexthop has invalid gateway.');
  });

  it('reports a tool that died without naming a line', async () => {
    const runner = async () => ({ code: 255, stdout: '', stderr: 'Error: argument "x" is wrong: invalid\n' });
    await expect(runBatch([cmd('link set dev a up')], runner)).rejects.toThrow('ip failed (exit status 255): argument "x" is wrong: invalid');
  });
});

describe('kernelError', () => {
  it('speaks like Go netlink errors', () => {
    expect(kernelError('RTNETLINK answers: File exists\n')).toBe('file exists');
    expect(kernelError('Error: ipv4: Address already assigned.\n')).toBe('ipv4: Address already assigned.');
    expect(kernelError('Cannot find device "eth9"\n')).toBe('Cannot find device "eth9"');
  });
});

describe('batch lines', () => {
  it('refuses words iproute2 would split, unquote, cut at # or expand', () => {
    for (const w of ['a b', 'a#b', "a'b", 'a"b', 'a\\b', 'eth%d', '', 'a\tb', 'a\nb']) expect(isBatchSafe(w)).toBe(false);
    for (const w of ['eth0', 'net1.100', 'veth0123abcd', '10.0.0.1/24', 'fd00::1/64', 'my-if_2']) expect(isBatchSafe(w)).toBe(true);
    expect(() => batchLine(['link', 'set', 'dev', 'a#b', 'up'])).toThrow('cannot pass "a#b" to ip -batch');
  });

  it('splits -j output into one array per show line', () => {
    expect(parseJsonArrays('[{"a":1}]\n[]\n[{"b":2},{"c":3}]\n')).toEqual([[{ a: 1 }], [], [{ b: 2 }, { c: 3 }]]);
  });
});
