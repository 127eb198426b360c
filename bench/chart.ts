// The README's chart: per scenario, each tool's median time as a bar (scaled to
// the slowest tool in that scenario), with min–max whiskers and the seconds.
export interface ChartRow {
  scenario: string;
  tool: string;
  median: number;
  min: number;
  max: number;
}

const COLORS: Record<string, string> = {
  slipway: '#2f7d32',
  'slipway-cold': '#81c784',
  rsync: '#5c6bc0',
  git: '#8d6e63',
  shipit: '#ef6c00',
};

export function renderChart(rows: ChartRow[]): string {
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  const tools = [...new Set(rows.map((r) => r.tool))];
  const barH = 14;
  const gap = 14;
  const left = 230;
  const width = 760;
  const plot = width - left - 90;
  const blockH = tools.length * barH + gap;
  const height = 40 + scenarios.length * blockH + 10;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" ` +
      `font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...tools.map(
      (t, i) =>
        `<rect x="${10 + i * 120}" y="8" width="12" height="12" fill="${COLORS[t] ?? '#999'}"/><text ` +
        `x="${10 + i * 120 + 16}" y="18">${esc(t)}</text>`,
    ),
  ];
  scenarios.forEach((scenario, si) => {
    const y0 = 36 + si * blockH;
    const group = rows.filter((r) => r.scenario === scenario);
    const scale = Math.max(...group.map((r) => r.max));
    out.push(
      `<text x="${left - 8}" y="${y0 + (tools.length * barH) / 2 + 4}" text-anchor="end">${esc(scenario)}</text>`,
    );
    tools.forEach((tool, ti) => {
      const r = group.find((g) => g.tool === tool);
      if (!r) return;
      const y = y0 + ti * barH;
      const w = (v: number) => (v / scale) * plot;
      out.push(
        `<rect x="${left}" y="${y + 2}" width="${w(r.median).toFixed(1)}" height="${barH - 4}" ` +
          `fill="${COLORS[tool] ?? '#999'}"/>`,
      );
      out.push(
        `<line x1="${(left + w(r.min)).toFixed(1)}" x2="${(left + w(r.max)).toFixed(1)}" y1="${y + barH / 2}" ` +
          `y2="${y + barH / 2}" stroke="#333" stroke-width="1"/>`,
      );
      out.push(
        `<text x="${(left + w(r.max) + 4).toFixed(1)}" ` +
          `y="${y + barH - 3}">${r.median < 10 ? r.median.toFixed(2) : r.median.toFixed(1)} s</text>`,
      );
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
