// The profile table of `npm run bench`: where one ADD's and one DEL's
// milliseconds go, from the WEFT_PROFILE documents of repeated runs
// (src/cni/profile.ts) and the parent's own clock around each spawn.
//
// Each run becomes a tree: a step's parent is the smallest step that encloses
// it, steps side by side (the host batch while IPAM runs) are siblings marked
// "∥", and a step with children gets an "other work" row for the time none
// of them covers. The root is the whole command as the parent saw it: so
// every millisecond of it sits in exactly one row (with steps side by side,
// the part they share is in each). Rows are medians over the runs.

const EPS = 0.005;

/** Split the epoch-based run into the root's rows and the child's steps, in ms from the spawn. */
function timeline(run) {
  const { doc, spawnedAt, exitedAt, wrapperMs } = run;
  const rel = (t) => doc.origin + t - spawnedAt;
  const steps = doc.steps.map(([name, start, end, idle, cpu]) => ({ name, start: rel(start), end: rel(end), idle, cpu, children: [] }));
  const compile = steps.find((s) => s.name === 'compile bundle');
  const firstJs = compile ? compile.start : Math.min(...steps.map((s) => s.start));
  const origin = rel(0);
  const lastEnd = Math.max(...steps.map((s) => s.end));
  // The wrapper is timed apart; on a loaded machine its median can exceed this run's whole lead-in.
  const wrapped = Math.min(wrapperMs, origin);
  const pre = [
    { name: 'ip netns exec (the bench wrapper; a runtime does not pay it)', start: 0, end: wrapped, idle: 0, children: [] },
    { name: "exec: kernel, loader, until Node's clock starts", start: wrapped, end: origin, idle: 0, children: [] },
    { name: 'Node start-up: V8, bootstrap, SEA entry', start: origin, end: firstJs, idle: 0, children: [] },
  ];
  const post = { name: 'exit: from the last step to the parent seeing the exit', start: lastEnd, end: exitedAt - spawnedAt, idle: 0, children: [] };
  return { total: exitedAt - spawnedAt, nodes: [...pre, ...steps, post] };
}

function buildTree(nodes, total) {
  const root = { name: 'whole command, spawn to exit (parent-measured)', start: 0, end: total, idle: 0, children: [] };
  // Larger first, so that a parent is placed before what it encloses.
  const sorted = [...nodes].sort((a, b) => a.start - b.start || b.end - b.start - (a.end - a.start));
  const placed = [];
  for (const n of sorted) {
    let parent = root;
    for (const p of placed) {
      // A process is a leaf: JavaScript that ran meanwhile is its sibling.
      if (p.name.startsWith('process ')) continue;
      const encloses = p.start <= n.start + EPS && n.end <= p.end + EPS && p.end - p.start >= n.end - n.start;
      if (encloses && p.end - p.start <= parent.end - parent.start) parent = p;
    }
    parent.children.push(n);
    placed.push(n);
  }
  root.idle = nodes.filter((n) => root.children.includes(n)).reduce((a, n) => a + n.idle, 0);
  return root;
}

function union(intervals) {
  const s = [...intervals].sort((a, b) => a[0] - b[0]);
  let sum = 0;
  let cur;
  for (const [a, b] of s) {
    if (!cur || a > cur[1]) {
      if (cur) sum += cur[1] - cur[0];
      cur = [a, b];
    } else cur[1] = Math.max(cur[1], b);
  }
  return cur ? sum + cur[1] - cur[0] : 0;
}

/** Flatten a tree into rows keyed by path; same-named siblings merge (their count is kept). */
function rows(root) {
  const out = new Map();
  const walk = (node, path, depth, parallel) => {
    const key = [...path, node.name].join(' > ');
    const row = out.get(key) ?? { name: node.name, depth, ms: 0, idle: 0, cpu: 0, count: 0, parallel };
    row.ms += node.end - node.start;
    row.idle += node.idle;
    row.cpu += node.cpu ?? 0;
    row.count += 1;
    out.set(key, row);
    if (node.children.length === 0) return;
    const kids = node.children;
    for (const c of kids) {
      const overlaps = kids.some((o) => o !== c && o.start < c.end - EPS && c.start < o.end - EPS);
      walk(c, [...path, node.name], depth + 1, overlaps);
    }
    const covered = union(kids.map((c) => [c.start, c.end]));
    const otherKey = `${key} > (other work)`;
    const other = out.get(otherKey) ?? { name: `other work in ${node.name}`, depth: depth + 1, ms: 0, idle: 0, cpu: 0, count: 0, parallel: false };
    other.ms += node.end - node.start - covered;
    // The CPU of sequential children is theirs; what is left is the parent's own.
    if (node.cpu !== undefined && !kids.some((c) => c.cpu === undefined || c.name.startsWith('process '))) other.cpu += node.cpu - kids.reduce((a, c) => a + c.cpu, 0);
    other.count = 1;
    out.set(otherKey, other);
  };
  walk(root, [], 0, false);
  return out;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Median rows over runs, in the order of the first run. */
export function profileRows(runs) {
  const perRun = runs.map((r) => {
    const t = timeline(r);
    return rows(buildTree(t.nodes, t.total));
  });
  const keys = [];
  for (const m of perRun) for (const k of m.keys()) if (!keys.includes(k)) keys.push(k);
  return keys.map((k) => {
    const seen = perRun.map((m) => m.get(k)).filter(Boolean);
    const first = seen[0];
    return {
      key: k,
      name: first.name,
      depth: first.depth,
      parallel: first.parallel,
      count: median(seen.map((r) => r.count)),
      ms: median(perRun.map((m) => m.get(k)?.ms ?? 0)),
      idle: median(perRun.map((m) => m.get(k)?.idle ?? 0)),
      cpu: median(perRun.map((m) => m.get(k)?.cpu ?? 0)),
    };
  });
}

/** One command's profile as a markdown table. */
export function profileTable(title, runs) {
  const f = (x) => x.toFixed(1);
  const label = (r) => `${'· '.repeat(r.depth)}${r.parallel ? '∥ ' : ''}${r.name}${r.count > 1 ? ` ×${r.count}` : ''}`;
  const lines = [
    `| ${title}: step (median of ${runs.length}; ∥ runs beside a sibling) | ms | of it idle (waiting on processes, the kernel, timers) | main thread CPU ms |`,
    '| --- | --- | --- | --- |',
  ];
  const opt = (x) => (x >= 0.05 ? f(x) : '');
  for (const r of profileRows(runs)) if (r.ms >= 0.05 || r.depth <= 1) lines.push(`| ${label(r)} | ${f(r.ms)} | ${opt(r.idle)} | ${opt(r.cpu)} |`);
  return lines.join('\n');
}
