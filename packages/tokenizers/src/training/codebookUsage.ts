import { checkNumber } from '@nextdetail/core';

/** Per-code hit counts of a codebook, with the statistics that watch for codebook collapse. */
export class CodebookUsage {
  readonly hits: Float64Array;

  constructor(readonly vocabSize: number) {
    checkNumber(vocabSize, 'vocabSize', { integer: true, min: 1 });
    this.hits = new Float64Array(vocabSize);
  }

  /** Counts every id (values outside [0, V) are ignored). */
  add(ids: ArrayLike<number>): void {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id >= 0 && id < this.vocabSize) this.hits[id]! += 1;
    }
  }

  /** Adds another tally's counts. */
  merge(other: CodebookUsage): void {
    other.hits.forEach((n, id) => (this.hits[id]! += n));
  }

  get total(): number {
    return this.hits.reduce((a, b) => a + b, 0);
  }

  /** exp(H) of the empirical code distribution: V when every code is used equally, 1 when one code takes all. */
  perplexity(): number {
    const total = this.total;
    if (total === 0) return 0;
    let entropy = 0;
    for (const n of this.hits) if (n > 0) entropy -= (n / total) * Math.log(n / total);
    return Math.exp(entropy);
  }

  /** Codes never hit. */
  deadCodes(): number {
    return this.hits.filter((n) => n === 0).length;
  }
}
