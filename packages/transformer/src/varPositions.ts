import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@nextdetail/core';
import type { ResolvedGeneratorConfig } from './generatorConfig.js';
import type { ParameterSpecs, ParameterStore } from './parameterStore.js';
import type { PositionEncoding } from './positionEncoding.js';
import { scaleLayout, type ScaleLayout } from './scales.js';

// FoundationVision/VAR@78b9539:models/var.py: lvl_pos = lvl_embed(lvl_1L) + pos_1LC, one learned row per token of the
// fixed schedule `patch_nums`; a prefix of the schedule uses the first rows.
/** VAR's level embedding plus absolute position table, for its fixed square schedule. */
export class VarPositions implements PositionEncoding {
  readonly layout: ScaleLayout;

  constructor(readonly patchNums: readonly number[]) {
    this.layout = scaleLayout(patchNums, 'config.patchNums');
  }

  spec(c: ResolvedGeneratorConfig): ParameterSpecs {
    return {
      pos_1LC: { shape: [1, this.layout.length, c.width] },
      'lvl_embed.weight': { shape: [this.patchNums.length, c.width] },
    };
  }

  checkLayout(layout: ScaleLayout, argument: string): void {
    const ok =
      layout.sizes.length <= this.layout.sizes.length &&
      layout.sizes.every(([h, w], i) => h === this.layout.sizes[i]![0] && w === this.layout.sizes[i]![1]);
    if (!ok) {
      const show = (l: ScaleLayout) => `[${l.sizes.map(([h, w]) => (h === w ? `${h}` : `${h}×${w}`)).join(', ')}]`;
      throw new InvalidArgumentError(argument, `a prefix of the model's patchNums ${show(this.layout)}`, show(layout));
    }
  }

  scalePositions(params: ParameterStore, layout: ScaleLayout, si: number): tf.Tensor3D {
    return tf.tidy(() => {
      const [h, w] = layout.sizes[si]!;
      const C = params.get('pos_1LC').shape[2]!;
      const pos = tf.slice(params.get('pos_1LC'), [0, layout.begin[si]!, 0], [1, h * w, C]);
      const lvl_1C = tf.slice(params.get('lvl_embed.weight'), [si, 0], [1, C]);
      return tf.add(tf.expandDims(lvl_1C, 0), pos) as tf.Tensor3D;
    });
  }

  positions(params: ParameterStore, layout: ScaleLayout): tf.Tensor3D {
    return tf.tidy(() => {
      const level = new Int32Array(layout.length);
      layout.begin.forEach((b, si) => level.fill(si, b, b + layout.sizes[si]![0] * layout.sizes[si]![1]));
      const lvl_LC = tf.gather(params.get('lvl_embed.weight'), tf.tensor1d(level, 'int32'));
      const C = lvl_LC.shape[1]!;
      const pos = tf.slice(params.get('pos_1LC'), [0, 0, 0], [1, layout.length, C]);
      return tf.add(tf.expandDims(lvl_LC, 0), pos) as tf.Tensor3D;
    });
  }
}
