import type { EvalReport } from '../evaluation/evalReport.js';

/** One benchmarked generator: its method, the pipeline file's size and where its time went. */
export interface MethodResult {
  method: string;
  pipelineBytes: number;
  trainSeconds: number;
  evalSeconds: number;
  metrics: EvalReport;
}

/** Every method's result and the real-vs-real row: the FID two samples of real images already have. */
export interface QualityResults {
  preset: string;
  tokenizerSteps: number;
  generatorSteps: number;
  count: number;
  methods: MethodResult[];
  noiseFloor: EvalReport;
}

/** The metrics drawn and tabled, each with how to read it. */
export const QUALITY_METRICS = [
  { key: 'fid', title: 'FID', better: 'lower', value: (r: EvalReport) => r.fid },
  { key: 'is', title: 'IS', better: 'higher', value: (r: EvalReport) => r.inceptionScore.mean },
  { key: 'precision', title: 'precision', better: 'higher', value: (r: EvalReport) => r.precision },
  { key: 'recall', title: 'recall', better: 'higher', value: (r: EvalReport) => r.recall },
  { key: 'accuracy', title: 'class accuracy', better: 'higher', value: (r: EvalReport) => r.accuracy ?? Number.NaN },
] as const;
