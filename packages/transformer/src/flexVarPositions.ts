import * as tf from '@tensorflow/tfjs-core';
import { resize } from '@nextdetail/core';
import type { ResolvedGeneratorConfig } from './generatorConfig.js';
import type { ParameterSpecs, ParameterStore } from './parameterStore.js';
import type { PositionEncoding } from './positionEncoding.js';
import type { ScaleLayout } from './scales.js';

// jiaosiyu1999/FlexVAR@04462cb:models/flexvar.py: a learned table pos_1LC (1, C, S, S) resampled with
// F.interpolate(mode='area') to each scale's grid, flattened row-major; no level embedding.
/** FlexVAR's scalable 2-D position table: any grid, any number of scales. */
export class FlexVarPositions implements PositionEncoding {
  constructor(readonly side: number) {}

  spec(c: ResolvedGeneratorConfig): ParameterSpecs {
    return { pos_1LC: { shape: [1, c.width, this.side, this.side], transform: 'nchw' } };
  }

  checkLayout(): void {}

  scalePositions(params: ParameterStore, layout: ScaleLayout, si: number): tf.Tensor3D {
    return tf.tidy(() => {
      const [h, w] = layout.sizes[si]!;
      const table_1SSC = params.get<tf.Tensor4D>('pos_1LC');
      const C = table_1SSC.shape[3];
      return tf.reshape(resize(table_1SSC, [h, w], 'area'), [1, h * w, C]) as tf.Tensor3D;
    });
  }

  positions(params: ParameterStore, layout: ScaleLayout): tf.Tensor3D {
    return tf.tidy(() => tf.concat(layout.sizes.map((_, si) => this.scalePositions(params, layout, si)), 1) as tf.Tensor3D);
  }
}
