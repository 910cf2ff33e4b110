import type { EvalReport } from '../evaluation/evalReport.js';
import { QUALITY_METRICS, type QualityResults } from './qualityResults.js';

function cell(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '—';
}

function metricCells(r: EvalReport): string[] {
  return [
    cell(r.fid, 2),
    `${cell(r.inceptionScore.mean, 2)} ± ${cell(r.inceptionScore.std, 2)}`,
    cell(r.precision, 3),
    cell(r.recall, 3),
    r.accuracy === null ? '—' : `${cell(100 * r.accuracy, 1)} %`,
  ];
}

/**
 * The benchmark as a markdown table: a row per method and the real-vs-real noise floor (the FID that two samples of
 * real images have: a generator cannot be told apart from real data below it), and the settings all methods shared.
 */
export function qualityTable(results: QualityResults): string {
  const header = ['method', ...QUALITY_METRICS.map((m) => `${m.title} (${m.better === 'lower' ? '↓' : '↑'})`), 'pipeline', 'train s', 'eval s'];
  const rows = results.methods.map((m) => [
    m.method,
    ...metricCells(m.metrics),
    `${(m.pipelineBytes / 2 ** 20).toFixed(2)} MB`,
    m.trainSeconds.toFixed(0),
    m.evalSeconds.toFixed(0),
  ]);
  rows.push(['real train vs test (noise floor)', ...metricCells(results.noiseFloor), '—', '—', '—']);
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [
    `Fashion-MNIST, preset \`${results.preset}\`: ${results.tokenizerSteps} tokenizer and ${results.generatorSteps} generator steps per method, ` +
      `${results.count} generated images each against ${results.noiseFloor.real.count} test images; features, IS and class accuracy from the shipped classifier.`,
    '',
    line(header),
    line(header.map((_, i) => (i === 0 ? '---' : '---:'))),
    ...rows.map(line),
    '',
  ].join('\n');
}
