/** What `nextdetail eval --json` prints: one object, read back by `bench-quality` and the tests. */
export interface EvalReport {
  real: { source: string; count: number };
  fake: { source: string; count: number };
  classifier: { path: string; testAccuracy: number | null };
  fid: number;
  kid: { mean: number; std: number };
  precision: number;
  recall: number;
  inceptionScore: { mean: number; std: number };
  /** Class accuracy of the generated images, when their classes are known (a class-folder set or --model). */
  accuracy: number | null;
  perClassAccuracy: Record<string, number>;
  realAccuracy: number | null;
  fidInception: number | null;
  seconds: number;
}
