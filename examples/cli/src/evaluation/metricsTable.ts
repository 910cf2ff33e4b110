/** One row of the printed table: a metric, its value, and a note on how to read it. */
export type MetricRow = [name: string, value: string, note: string];

/** A plain three-column table for the terminal. */
export function metricsTable(rows: readonly MetricRow[]): string {
  const widths = [0, 1].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map(([name, value, note]) => `${name.padEnd(widths[0]!)}  ${value.padStart(widths[1]!)}  ${note}`.trimEnd()).join('\n');
}

export function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : String(value);
}
