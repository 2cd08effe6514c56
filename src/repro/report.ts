/**
 * What a reproduction writes for people: report.md (what was run, the claims with their verdicts, the figures,
 * the numbers, the settings, the differences from the paper's code, the files), result.json (the same facts,
 * machine-readable, without anything that depends on the clock), and the index of `reproduce all`
 * (index.md and a self-contained index.html with the figures inline).
 */
import { fmt } from '../plot/render.js';
import { duration } from '../cli/progress.js';
import { REPRODUCTIONS } from './registry.js';
import type { ReproResult } from './run.js';
import { table } from './stats.js';
import type { Claim, SettingValue, Verdict } from './types.js';

/** How the run went, beyond its result: what the report's header says. */
export interface RunInfo {
  /** The command line as typed (or its equivalent). */
  readonly command: string;
  readonly version: string;
  readonly node: string;
  readonly backend: string;
  readonly device: string;
  /** Why this backend (engine.describe().reason). */
  readonly reason: string;
  /** Wall-clock seconds of this process, start to finish. */
  readonly wallSeconds: number;
  /** ISO date the run finished. */
  readonly finished: string;
}

const VERDICT_MARK: Record<Verdict, string> = {
  reproduced: '✅ reproduced',
  'partly reproduced': '🟡 partly reproduced',
  'not reproduced': '❌ not reproduced',
  inconclusive: '⚪ inconclusive',
};

/** "4 of 5 claims reproduced, 1 partly" */
export function verdictSummary(claims: readonly Claim[]): string {
  const count = (v: Verdict) => claims.filter((c) => c.verdict === v).length;
  const parts = [`${count('reproduced')} of ${claims.length} claims reproduced`];
  if (count('partly reproduced')) parts.push(`${count('partly reproduced')} partly`);
  if (count('not reproduced')) parts.push(`${count('not reproduced')} not reproduced`);
  if (count('inconclusive')) parts.push(`${count('inconclusive')} inconclusive`);
  return parts.join(', ');
}

/** A setting's value as a person writes it on the command line. */
export function showSetting(v: SettingValue): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return fmt(v, 6);
  const arr = v as readonly number[];
  if (arr.length > 6) {
    const d = arr[1] - arr[0];
    const even = arr.every((x, i) => i === 0 || Math.abs(x - arr[i - 1] - d) < 1e-9 * Math.max(1, Math.abs(d)));
    if (even) return `${fmt(arr[0], 6)}:${fmt(arr[arr.length - 1], 6)}:${arr.length}`;
    return `${arr.slice(0, 4).map((x) => fmt(x, 6)).join(',')},… (${arr.length} values)`;
  }
  return arr.map((x) => fmt(x, 6)).join(',');
}

/** report.md of one reproduction. */
export function renderReport(r: ReproResult, run: RunInfo): string {
  const repro = REPRODUCTIONS[r.name];
  const lines: string[] = [];
  lines.push(`# ${r.figure} — ${r.title}`, '');
  lines.push(`**${verdictSummary(r.claims)}.**`, '');
  lines.push(table(['', ''], [
    ['Command', `\`${run.command}\``],
    ['Backend', `${run.backend} — ${run.device} (${run.reason})`],
    ['Scale', `${r.scale}${r.overrides.length > 0 ? `, with ${r.overrides.map((k) => `${k}=${showSetting(r.settings[k])}`).join(', ')}` : ''}`],
    ['Seed', String(r.seed)],
    ['Wall time', `${duration(run.wallSeconds)}${r.resumedStages > 0 ? ` in this run (resumed: ${r.resumedStages} stage${r.resumedStages === 1 ? '' : 's'} came from the checkpoint)` : ''}`],
    ['Version', `stochastic-collapse ${run.version}, Node ${run.node}, finished ${run.finished}`],
  ]), '');
  lines.push('## Claims', '');
  lines.push(table(['#', 'Claim', 'Measured', 'Theory', 'Paper', 'Verdict'],
    r.claims.map((c, i) => [String(i + 1), c.statement, c.measured, c.theory, c.paper, VERDICT_MARK[c.verdict]])), '');
  lines.push('How each verdict was decided:', '');
  r.claims.forEach((c, i) => lines.push(`${i + 1}. \`${c.id}\`: ${c.test}.`));
  lines.push('');
  lines.push('## Figures', '');
  for (const f of r.figures) {
    lines.push(`### ${f.title}`, '', `![${f.title}](${f.name}.png)`, '', `${f.caption} (Vector: [${f.name}.svg](${f.name}.svg).)`, '');
  }
  if (r.sections.length > 0) {
    lines.push('## Numbers', '');
    for (const s of r.sections) lines.push(`### ${s.title}`, '', s.body, '');
  }
  lines.push('## Settings', '');
  lines.push(table(['setting', 'this run', 'quick', 'paper', 'meaning'], Object.entries(repro?.settings ?? {}).map(([k, spec]) =>
    [`\`${k}\``, showSetting(r.settings[k]), showSetting(spec.quick), showSetting(spec.paper), spec.description])), '');
  lines.push(`Change any of them with \`--set NAME=VALUE\` (lists: \`a,b,c\` or a linspace \`a:b:n\`).`, '');
  if (r.differences.length > 0) {
    lines.push('## Where this differs from the paper and its code', '');
    for (const d of r.differences) lines.push(`- ${d}`);
    lines.push('');
  }
  lines.push('## Files', '');
  for (const f of r.figures) lines.push(`- \`${f.name}.png\`, \`${f.name}.svg\`: ${f.title.toLowerCase()}`);
  for (const f of r.files) lines.push(`- \`${f.name}\`: ${f.description}`);
  lines.push('- `result.json`: the settings, claims with verdicts and measured numbers (nothing that depends on the clock)');
  lines.push('- `run.json`: this run\'s command, backend, device, version and timings');
  lines.push('');
  return lines.join('\n');
}

/** result.json: everything the settings and seed determine (no timings, no dates). */
export function resultJson(r: ReproResult): Record<string, unknown> {
  return {
    kind: 'collapse-reproduction', name: r.name, figure: r.figure, title: r.title, scale: r.scale, seed: r.seed,
    settings: r.settings, overrides: r.overrides, backend: r.backend,
    verdict: verdictSummary(r.claims), claims: r.claims, measured: r.measured,
    figures: r.figures.map((f) => ({ name: f.name, title: f.title, caption: f.caption })),
    files: r.files.map((f) => ({ name: f.name, description: f.description })),
    differences: r.differences,
  };
}

/** One line of the index of `reproduce all`. */
export interface IndexEntry {
  readonly name: string;
  readonly figure: string;
  readonly title: string;
  readonly claims: readonly Claim[];
  readonly figures: readonly { readonly name: string; readonly title: string; readonly caption: string; readonly png?: Uint8Array }[];
  readonly wallSeconds?: number;
  readonly backend?: string;
  /** Set when the reproduction did not finish (its error). */
  readonly error?: string;
}

export function renderIndexMarkdown(entries: readonly IndexEntry[], header: { command: string; scale: string; backend: string; wallSeconds: number; finished: string }): string {
  const lines = ['# Stochastic collapse: the paper\'s experiments, reproduced', ''];
  lines.push(`\`${header.command}\` — scale ${header.scale}, backend ${header.backend}, ${duration(header.wallSeconds)} of reproductions in all, finished ${header.finished}.`, '');
  lines.push(table(['Figure', 'What', 'Verdicts', 'Wall time', 'Report'], entries.map((e) => [
    e.figure, e.title, e.error ? `not finished: ${e.error}` : verdictSummary(e.claims), e.wallSeconds === undefined ? '—' : duration(e.wallSeconds), `[${e.name}/report.md](${e.name}/report.md)`,
  ])), '');
  for (const e of entries) {
    lines.push(`## ${e.figure} — ${e.title}`, '');
    if (e.error) { lines.push(`Not finished: ${e.error}`, ''); continue; }
    lines.push(table(['Claim', 'Measured', 'Paper', 'Verdict'], e.claims.map((c) => [c.statement, c.measured, c.paper, VERDICT_MARK[c.verdict]])), '');
    for (const f of e.figures) lines.push(`![${f.title}](${e.name}/${f.name}.png)`, '', `*${f.title}.* ${f.caption}`, '');
  }
  return lines.join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A self-contained page: the same content as index.md, figures inline as PNG data URIs. */
export function renderIndexHtml(entries: readonly IndexEntry[], header: { command: string; scale: string; backend: string; wallSeconds: number; finished: string }): string {
  const verdictClass = (v: Verdict) => v.replace(/ /g, '-');
  const rows = entries.map((e) => `<tr><td><a href="#${e.name}">${esc(e.figure)}</a></td><td>${esc(e.title)}</td><td>${esc(e.error ? `not finished: ${e.error}` : verdictSummary(e.claims))}</td><td>${e.wallSeconds === undefined ? '—' : esc(duration(e.wallSeconds))}</td><td><a href="${e.name}/report.md">${e.name}/report.md</a></td></tr>`).join('\n');
  const sections = entries.map((e) => {
    if (e.error) return `<section id="${e.name}"><h2>${esc(e.figure)} — ${esc(e.title)}</h2><p>Not finished: ${esc(e.error)}</p></section>`;
    const claims = e.claims.map((c) => `<tr><td>${esc(c.statement)}</td><td>${esc(c.measured)}</td><td>${esc(c.theory)}</td><td>${esc(c.paper)}</td><td class="${verdictClass(c.verdict)}">${esc(VERDICT_MARK[c.verdict])}</td></tr>`).join('\n');
    const figures = e.figures.map((f) => `<figure><img alt="${esc(f.title)}" src="${f.png ? `data:image/png;base64,${Buffer.from(f.png).toString('base64')}` : `${e.name}/${f.name}.png`}"><figcaption><b>${esc(f.title)}.</b> ${esc(f.caption)} <a href="${e.name}/${f.name}.svg">SVG</a></figcaption></figure>`).join('\n');
    return `<section id="${e.name}"><h2>${esc(e.figure)} — ${esc(e.title)}</h2>
<table><thead><tr><th>Claim</th><th>Measured</th><th>Theory</th><th>Paper</th><th>Verdict</th></tr></thead><tbody>
${claims}
</tbody></table>
${figures}
<p><a href="${e.name}/report.md">Full report</a> (settings, numbers, differences from the paper's code, data files).</p></section>`;
  }).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stochastic collapse: reproductions</title>
<style>
body { font-family: "DejaVu Sans", system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 14px; }
td, th { border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; text-align: left; }
th { background: #f4f4f4; }
figure { margin: 1.5em 0; } img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 14px; color: #444; }
.reproduced { background: #e8f6e8; } .partly-reproduced { background: #fff6d6; } .not-reproduced { background: #fbe3e3; } .inconclusive { background: #eee; }
code { background: #f4f4f4; padding: 1px 4px; }
</style></head><body>
<h1>Stochastic collapse: the paper's experiments, reproduced</h1>
<p><code>${esc(header.command)}</code> — scale ${esc(header.scale)}, backend ${esc(header.backend)}, ${esc(duration(header.wallSeconds))} of reproductions in all, finished ${esc(header.finished)}.</p>
<table><thead><tr><th>Figure</th><th>What</th><th>Verdicts</th><th>Wall time</th><th>Report</th></tr></thead><tbody>
${rows}
</tbody></table>
${sections}
</body></html>
`;
}
