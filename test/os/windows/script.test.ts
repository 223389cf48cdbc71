import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Language, type Node, Parser } from 'web-tree-sitter';
import { beforeAll, describe, expect, it } from 'vitest';
import { SCRIPT_NAME } from '../../../src/os/windows/powershell.ts';
import { cniBin, repoRoot, tempDir } from '../../helpers/tmp.ts';

// weft sends PowerShell exactly one script, the shipped weft-hns.ps1 (the
// request is JSON data, never script text). No PowerShell runs here, so the
// script is held to what can be checked on Linux: it parses as PowerShell
// (and its embedded C# as C#), it knows every op of the plan language, and it
// contains nothing that could turn data into code.

const scriptFile = path.join(repoRoot, 'src', 'os', 'windows', 'scripts', SCRIPT_NAME);
const script = fs.readFileSync(scriptFile, 'utf8');

let powershell: Parser;
let csharp: Parser;

beforeAll(async () => {
  await Parser.init();
  const load = async (wasm: string) => {
    const p = new Parser();
    p.setLanguage(await Language.load(path.join(repoRoot, 'node_modules', wasm)));
    return p;
  };
  powershell = await load('tree-sitter-powershell/tree-sitter-powershell.wasm');
  csharp = await load('tree-sitter-c-sharp/tree-sitter-c_sharp.wasm');
});

function syntaxErrors(parser: Parser, source: string): string[] {
  const tree = parser.parse(source)!;
  const errors: string[] = [];
  const walk = (n: Node) => {
    if (n.type === 'ERROR' || n.isMissing) errors.push(`line ${n.startPosition.row + 1}: ${JSON.stringify(n.text.slice(0, 60))}`);
    for (const c of n.children) walk(c);
  };
  walk(tree.rootNode);
  expect(tree.rootNode.hasError).toBe(errors.length > 0);
  return errors;
}

/** The C# compiled by Add-Type: the body of the single-quoted here-string. */
function embeddedCSharp(source: string): string {
  const m = /^\$nativeSource = @'\n([\s\S]*?)\n'@$/m.exec(source);
  expect(m).not.toBeNull();
  return m![1]!;
}

/** Compile with Mono's mcs (Debian package mono-mcs); DllImports bind only when called, so Linux can compile them. */
function compileCSharp(source: string): { status: number | null; output: string } {
  const dir = tempDir();
  const file = path.join(dir, 'weft-hns.cs');
  fs.writeFileSync(file, source);
  const mcs = spawnSync('mcs', ['-langversion:5', '-target:library', '-warnaserror+', `-out:${path.join(dir, 'weft-hns.dll')}`, file], {
    encoding: 'utf8',
  });
  if (mcs.error) throw new Error(`the C# compiler mcs is needed (apt-get install mono-mcs): ${mcs.error.message}`);
  return { status: mcs.status, output: mcs.stdout + mcs.stderr };
}

const nodesOfType = (root: Node, type: string): Node[] => root.descendantsOfType(type).filter((n): n is Node => n !== null);

describe('weft-hns.ps1', () => {
  it('parses as PowerShell', () => {
    expect(syntaxErrors(powershell, script)).toEqual([]);
  });

  it('embeds C# that parses as C#', () => {
    expect(syntaxErrors(csharp, embeddedCSharp(script))).toEqual([]);
  });

  it('embeds C# that compiles as C# 5, what Windows PowerShell 5.1 Add-Type compiles, without warnings', () => {
    const ok = compileCSharp(embeddedCSharp(script));
    expect(ok.status, ok.output).toBe(0);
    expect(ok.output).not.toMatch(/warning|error CS/);
    // The compile check does fail on a type error that is not a syntax error.
    const wrong = compileCSharp(embeddedCSharp(script).replace('HcnCloseNetwork(handle);', 'HcnCloseNetwork(handle, 1);'));
    expect(wrong.status).not.toBe(0);
    expect(wrong.output).toContain('error CS1501');
  });

  it('has a syntax check that does catch broken scripts', () => {
    const unclosed = script.replace('function Invoke-WeftOp {', 'function Invoke-WeftOp {{');
    expect(syntaxErrors(powershell, unclosed).length).toBeGreaterThan(0);
    const badSwitch = script.replace("        'hcn.list' {\n", "        'hcn.list' (\n");
    expect(syntaxErrors(powershell, badSwitch).length).toBeGreaterThan(0);
    const badCSharp = embeddedCSharp(script).replace('public static HnsCallResult Call(', 'public static HnsCallResult Call(,');
    expect(syntaxErrors(csharp, badCSharp).length).toBeGreaterThan(0);
  });

  it('is ASCII without a byte order mark (Windows PowerShell 5.1 reads it as ANSI)', () => {
    const bytes = fs.readFileSync(scriptFile);
    expect(bytes[0]).not.toBe(0xef);
    expect([...bytes].every((b) => b === 0x0a || (b >= 0x20 && b < 0x7f))).toBe(true);
  });

  it('calls only its own functions and three cmdlets, never through & or .', () => {
    const tree = powershell.parse(script)!;
    const own = new Set(nodesOfType(tree.rootNode, 'function_name').map((n) => n.text));
    const commands = nodesOfType(tree.rootNode, 'command');
    expect(commands.length).toBeGreaterThan(20);
    for (const c of commands) {
      expect(c.descendantsOfType('command_invokation_operator')).toEqual([]);
      const name = c.childForFieldName('command_name') ?? c.descendantsOfType('command_name')[0];
      expect(name, c.text).toBeTruthy();
      const text = name!.text;
      expect(own.has(text) || ['Add-Type', 'ConvertFrom-Json', 'Start-Sleep'].includes(text), text).toBe(true);
    }
  });

  it('has no construct that evaluates text as code', () => {
    const code = script
      .split('\n')
      .filter((l) => !l.trimStart().startsWith('#') && !l.trimStart().startsWith('//'))
      .join('\n');
    for (const banned of [
      'Invoke-Expression',
      'iex',
      'scriptblock',
      'ExpandString',
      'InvokeScript',
      'NewScriptBlock',
      'Invoke-Command',
      'Start-Process',
      'Import-Module',
      '@"',
      'EncodedCommand',
    ]) {
      expect(new RegExp(`(^|[^A-Za-z-])${banned.replace(/[$@"]/g, '\\$&')}([^A-Za-z-]|$)`, 'im').test(code), banned).toBe(false);
    }
    // Add-Type compiles one constant text, assigned once from a literal here-string.
    expect(code.match(/Add-Type/g)).toHaveLength(1);
    expect(code).toContain('Add-Type -TypeDefinition $nativeSource -Language CSharp');
    expect(code.match(/\$nativeSource\s*=/g)).toHaveLength(1);
    // The request is only ever parsed as JSON.
    expect(code.match(/\$env:WEFT_HNS_REQUEST/g)).toHaveLength(1);
    expect(code).toContain('ConvertFrom-Json -InputObject ([string]$env:WEFT_HNS_REQUEST)');
  });

  it('ships beside the executables', () => {
    expect(fs.readFileSync(path.join(cniBin, SCRIPT_NAME), 'utf8')).toBe(script);
  });
});
