import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Language, type Node, Parser } from 'web-tree-sitter';
import { beforeAll, describe, expect, it } from 'vitest';
import { SCRIPT_NAME } from '../../../src/os/windows/powershell.ts';
import { cniBin, repoRoot, tempDir } from '../../helpers/tmp.ts';

// weft sends PowerShell exactly one script, the shipped weft-hns.ps1 (the
// request is JSON data, never script text), with its C# in weft-hns.cs and
// the install-time compile step in weft-hns-compile.ps1. The plugin tests run
// them in real PowerShell 7; what they cannot show is held here: the scripts
// use nothing that Windows PowerShell 5.1 (the target) lacks, the C# compiles
// as C# 5 without warnings, and nothing could turn data into code.

const scriptsDir = path.join(repoRoot, 'src', 'os', 'windows', 'scripts');
const scriptFile = path.join(scriptsDir, SCRIPT_NAME);
const script = fs.readFileSync(scriptFile, 'utf8');
const csharpFile = path.join(scriptsDir, 'weft-hns.cs');
const csharpSource = fs.readFileSync(csharpFile, 'utf8');
/** Every PowerShell script weft ships (the installer's too). */
const shippedScripts = [
  ...fs.readdirSync(scriptsDir).filter((f) => f.endsWith('.ps1')).map((f) => path.join(scriptsDir, f)),
  path.join(repoRoot, 'packaging', 'windows', 'install.ps1'),
];

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
  it('parses as PowerShell, as does its compile step', () => {
    expect(syntaxErrors(powershell, script)).toEqual([]);
    expect(syntaxErrors(powershell, fs.readFileSync(path.join(scriptsDir, 'weft-hns-compile.ps1'), 'utf8'))).toEqual([]);
  });

  it('has C# that parses as C#', () => {
    expect(syntaxErrors(csharp, csharpSource)).toEqual([]);
  });

  it('has C# that compiles as C# 5, what Windows PowerShell 5.1 Add-Type compiles, without warnings', () => {
    const ok = compileCSharp(csharpSource);
    expect(ok.status, ok.output).toBe(0);
    expect(ok.output).not.toMatch(/warning|error CS/);
    // The compile check does fail on a type error that is not a syntax error.
    const wrong = compileCSharp(csharpSource.replace('HcnCloseNetwork(handle);', 'HcnCloseNetwork(handle, 1);'));
    expect(wrong.status).not.toBe(0);
    expect(wrong.output).toContain('error CS1501');
  });

  it('has a syntax check that does catch broken scripts', () => {
    const unclosed = script.replace('function Invoke-WeftOp {', 'function Invoke-WeftOp {{');
    expect(syntaxErrors(powershell, unclosed).length).toBeGreaterThan(0);
    const badSwitch = script.replace("        'hcn.list' {\n", "        'hcn.list' (\n");
    expect(syntaxErrors(powershell, badSwitch).length).toBeGreaterThan(0);
    const badCSharp = csharpSource.replace('public static HnsCallResult Call(', 'public static HnsCallResult Call(,');
    expect(syntaxErrors(csharp, badCSharp).length).toBeGreaterThan(0);
  });

  it('is ASCII without a byte order mark, as its C# and compile step are (Windows PowerShell 5.1 reads them as ANSI)', () => {
    for (const file of fs.readdirSync(scriptsDir).map((f) => path.join(scriptsDir, f))) {
      const bytes = fs.readFileSync(file);
      expect(bytes[0], file).not.toBe(0xef);
      expect([...bytes].every((b) => b === 0x0a || (b >= 0x20 && b < 0x7f)), file).toBe(true);
    }
  });

  it('calls only its own functions and four cmdlets, never through & or .', () => {
    const tree = powershell.parse(script)!;
    const own = new Set(nodesOfType(tree.rootNode, 'function_name').map((n) => n.text));
    const commands = nodesOfType(tree.rootNode, 'command');
    expect(commands.length).toBeGreaterThan(20);
    for (const c of commands) {
      expect(c.descendantsOfType('command_invokation_operator')).toEqual([]);
      const name = c.childForFieldName('command_name') ?? c.descendantsOfType('command_name')[0];
      expect(name, c.text).toBeTruthy();
      const text = name!.text;
      expect(own.has(text) || ['Add-Type', 'ConvertFrom-Json', 'Start-Sleep', 'Join-Path'].includes(text), text).toBe(true);
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
    // Add-Type loads the assembly beside the script or compiles weft-hns.cs beside it, nothing else.
    expect(code.match(/Add-Type/g)).toHaveLength(2);
    expect(code).toContain("$source = [System.IO.File]::ReadAllBytes((Join-Path $PSScriptRoot 'weft-hns.cs'))");
    expect(code.match(/\$source\s*=/g)).toHaveLength(1);
    expect(code).toContain("$assembly = Join-Path $PSScriptRoot ('weft-hns-' + $hash + '.dll')");
    expect(code).toContain('Add-Type -Path $assembly');
    expect(code).toContain('Add-Type -TypeDefinition ([System.Text.Encoding]::ASCII.GetString($source)) -Language CSharp -IgnoreWarnings');
    // The request is only ever parsed as JSON.
    expect(code.match(/\$env:WEFT_HNS_REQUEST/g)).toHaveLength(1);
    expect(code).toContain('ConvertFrom-Json -InputObject ([string]$env:WEFT_HNS_REQUEST)');
  });

  it('ships beside the executables with its C# and compile step', () => {
    for (const f of fs.readdirSync(scriptsDir)) expect(fs.readFileSync(path.join(cniBin, f), 'utf8')).toBe(fs.readFileSync(path.join(scriptsDir, f), 'utf8'));
  });
});

// What Windows PowerShell 5.1 cannot run: operators and parameters that came
// with PowerShell 6 and 7. Looked for in the code only (strings and comments
// blanked out by the parser).
const PS7_ONLY: Array<[string, RegExp]> = [
  ['ternary ?:', /\s\?\s[^:]*\s:\s/],
  ['null-coalescing ?? / ??=', /\?\?/],
  ['null-conditional ?. / ?[', /\?\.|\}\?\[|\w\?\[/],
  ['pipeline chain &&', /&&/],
  ['pipeline chain ||', /\|\|/],
  ['-AsHashtable', /-AsHashtable\b/i],
  ['ConvertFrom-Json -Depth', /ConvertFrom-Json\b[^\n|]*-Depth\b/i],
  ['ForEach-Object -Parallel', /-Parallel\b/i],
  ['$PSStyle', /\$PSStyle\b/i],
  ['Join-String', /\bJoin-String\b/i],
  ['Get-Error', /\bGet-Error\b/i],
  ['Test-Json', /\bTest-Json\b/i],
  ['ConvertTo-Json -AsArray / -EnumsAsStrings', /-AsArray\b|-EnumsAsStrings\b/i],
  ['$IsWindows / $IsLinux / $IsMacOS / $IsCoreCLR', /\$Is(Windows|Linux|MacOS|CoreCLR)\b/i],
  ['-AsByteStream', /-AsByteStream\b/i],
  ['utf8NoBOM encoding', /utf8NoBOM|utf8BOM/i],
  ['clean block', /^\s*clean\s*\{/im],
];

function codeOnly(source: string): string {
  const tree = powershell.parse(source)!;
  const chars = [...source];
  const blank = (n: Node) => {
    if (n.type.includes('string') || n.type === 'comment') {
      for (let i = n.startIndex; i < n.endIndex; i++) if (chars[i] !== '\n') chars[i] = ' ';
      return;
    }
    for (const c of n.children) blank(c);
  };
  blank(tree.rootNode);
  return chars.join('');
}

const ps7Constructs = (source: string): string[] => {
  const code = codeOnly(source);
  return PS7_ONLY.filter(([, re]) => re.test(code)).map(([name]) => name);
};

describe('shipped PowerShell scripts', () => {
  it.each(shippedScripts.map((f) => [path.relative(repoRoot, f), f]))('%s uses nothing Windows PowerShell 5.1 lacks', (_name, file) => {
    expect(ps7Constructs(fs.readFileSync(file, 'utf8'))).toEqual([]);
  });

  it('have a guard that does catch each PowerShell 7 construct, in code but not in strings or comments', () => {
    const samples: Record<string, string> = {
      'ternary ?:': '$a = $b ? 1 : 2',
      'null-coalescing ?? / ??=': '$a = $b ?? 1',
      'null-conditional ?. / ?[': '$a = ${b}?.Name',
      'pipeline chain &&': 'Get-Item x && Get-Item y',
      'pipeline chain ||': 'Get-Item x || Get-Item y',
      '-AsHashtable': '$a = ConvertFrom-Json $t -AsHashtable',
      'ConvertFrom-Json -Depth': '$a = ConvertFrom-Json -InputObject $t -Depth 5',
      'ForEach-Object -Parallel': '1..3 | ForEach-Object -Parallel { $_ }',
      '$PSStyle': '$PSStyle.OutputRendering = 1',
      'Join-String': '$a = $b | Join-String -Separator ","',
      'Get-Error': 'Get-Error',
      'Test-Json': 'Test-Json -Json $t',
      'ConvertTo-Json -AsArray / -EnumsAsStrings': '$t = ConvertTo-Json $a -AsArray',
      '$IsWindows / $IsLinux / $IsMacOS / $IsCoreCLR': 'if ($IsWindows) { 1 }',
      '-AsByteStream': 'Get-Content x -AsByteStream',
      'utf8NoBOM encoding': 'Set-Content x -Encoding utf8NoBOM',
      'clean block': 'function f {\n  process { 1 }\n  clean { 2 }\n}',
    };
    expect(Object.keys(samples).sort()).toEqual(PS7_ONLY.map(([n]) => n).sort());
    for (const [name, line] of Object.entries(samples)) {
      expect(ps7Constructs(`${script}\n${line}\n`), line).toEqual([name]);
    }
    expect(ps7Constructs(`${script}\n# a ?? b && c || d\n$x = 'a ?? b && $PSStyle'\n`)).toEqual([]);
  });
});
