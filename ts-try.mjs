import { Parser, Language } from 'web-tree-sitter';
import fs from 'node:fs';
await Parser.init();
const ps = await Language.load('node_modules/tree-sitter-powershell/tree-sitter-powershell.wasm');
const cs = await Language.load('node_modules/tree-sitter-c-sharp/tree-sitter-c_sharp.wasm');
const src = fs.readFileSync('src/os/windows/scripts/weft-hns.ps1', 'utf8');
for (const [lang, text] of [[ps, src], [cs, src.split("@'\n")[1].split("\n'@")[0]]]) {
  const p = new Parser(); p.setLanguage(lang);
  const t = p.parse(text);
  const errs = [];
  const walk = (n) => { if (n.type === 'ERROR' || n.isMissing) errs.push(`${n.type}@${n.startPosition.row+1}:${n.startPosition.column} ${JSON.stringify(n.text.slice(0,80))}`); for (const c of n.children) walk(c); };
  walk(t.rootNode);
  console.log(t.rootNode.hasError, errs.slice(0,10));
}
