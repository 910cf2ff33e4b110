import { describeShape, InvalidArgumentError, ShapeError, type TensorSource } from '@nextdetail/core';

/** Reads architecture hyper-parameters off a checkpoint's tensor shapes; `prefix` is prepended to every name. */
export class ShapeProbe {
  private readonly keys: Set<string>;

  constructor(
    private readonly source: TensorSource,
    readonly prefix: string,
    /** What the checkpoint should be, for error messages. */
    private readonly what: string,
  ) {
    this.keys = new Set(source.keys());
  }

  /** The first of `prefixes` under which `source` holds `name`, else ''. */
  static prefixOf(source: TensorSource, name: string, prefixes: readonly string[]): string {
    const keys = new Set(source.keys());
    return prefixes.find((p) => keys.has(p + name)) ?? '';
  }

  has(name: string): boolean {
    return this.keys.has(this.prefix + name);
  }

  /** The PyTorch shape of `name`, which must exist and have `rank` dimensions. */
  shape(name: string, rank: number): number[] {
    const key = this.prefix + name;
    if (!this.keys.has(key)) throw new InvalidArgumentError('checkpoint', this.what, `no ${key}`);
    const { shape } = this.source.info(key);
    if (shape.length !== rank || shape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new ShapeError(key, `a rank-${rank} shape of positive sizes`, describeShape(shape));
    }
    return shape;
  }

  /** How many of `name(0)`, `name(1)`, … exist, stopping at the first gap. */
  count(name: (i: number) => string): number {
    let n = 0;
    while (this.has(name(n))) n++;
    return n;
  }

  /** width / ch as an integer multiplier, or a ShapeError naming the tensor. */
  multiplier(name: string, width: number, ch: number): number {
    if (width % ch !== 0) {
      throw new ShapeError(this.prefix + name, `an output width that is a multiple of the base width ${ch}`, `${width}`);
    }
    return width / ch;
  }
}
