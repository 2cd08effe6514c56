// Suite `kernels`: every registered kernel on every backend, with the machine's ceilings and the Python peers —
// exactly `collapse bench` (the harness the package ships: dist/bench/), so the repository's committed results
// and a user's `npx collapse bench` come from the same code.
export const title = 'kernels: collapse bench (every registered kernel × backend, ceilings, peers)';

export async function run({ quick }) {
  const { runBench } = await import('../dist/bench/run.js');
  const report = await import('../dist/bench/report.js');
  const tty = process.stderr.isTTY;
  const result = await runBench({
    quick,
    onProgress: tty ? (done, total, what) => process.stderr.write(`\r  [${done + 1}/${total}] ${what}\x1b[K`) : undefined,
  });
  if (tty) process.stderr.write('\r\x1b[K');
  console.log(report.formatTable(result));
  const engine = (r) => r.kind === 'engine';
  const ratios = result.rows.filter(engine).flatMap((r) => report.peerRatios(result, r)
    .map((x) => ({ name: `${r.kernel} ${report.backendLabel(r)} ${r.problem} / ${x.peer}`, value: x.ratio })));
  return {
    measurements: report.jsonRows(result), ceilings: result.ceilings, skipped: result.skipped, peers: result.peers, notes: result.notes,
    ratios, markdown: report.formatMarkdown(result, `node bench/run.mjs kernels${quick ? ' --quick' : ''}`),
  };
}
