import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, type RandomGenerator, type TensorSource, withDefaults } from '@nextdetail/core';
import type { ResolvedGeneratorConfig } from './generatorConfig.js';
import type { ParameterSpecs } from './parameterStore.js';
import { sinCos2dTable } from './sinCos2d.js';
import { truncNormalArray } from './truncNormal.js';

/** The reference `init_weights` arguments (FoundationVision/VAR@78b9539:models/__init__.py defaults). */
export interface InitOptions {
  /** Multiplier of the AdaLN scale/shift rows (and the head's AdaLN). */
  initAdaLn?: number;
  /** Multiplier of the AdaLN gate rows γ1, γ2 (the training scripts use 1e-3 for d16/d20, 1e-4 d24, 1e-5 d30). */
  initAdaLnGamma?: number;
  /** Multiplier of the head weight. */
  initHead?: number;
  /** Std of every linear/embedding weight; negative means √(1/(3C)). */
  initStd?: number;
}

const DEFAULTS: Required<InitOptions> = { initAdaLn: 0.5, initAdaLnGamma: 1e-5, initHead: 0.02, initStd: -1 };

/** Fills rows [from, to) of a row-major [rows, cols] array with `factor` times their value. */
function scaleRows(data: Float32Array, cols: number, from: number, to: number, factor: number): void {
  for (let i = from * cols; i < to * cols; i++) data[i]! *= factor;
}

// FoundationVision/VAR@78b9539:models/var.py VAR.__init__ and init_weights (reference-digest §1.5): trunc-normal
// linear/embedding weights and tables with std √(1/(3C)), zero biases, head ×0.02, head AdaLN ×0.5, attn.proj and
// ffn.fc2 ÷ √(2·depth), block AdaLN rows 2C: ×init_adaln and :2C ×init_adaln_gamma, ada_gss = randn/√C scaled the
// same way, scale_mul = ln 4; FlexVAR's 2-D table starts at its sin-cos values.
/**
 * The official initial values of every parameter in `spec`, PyTorch layout, as a TensorSource for core's
 * `loadStateDict`. Draws come from `rng` in spec order.
 */
export function officialInitSource(
  spec: ParameterSpecs,
  c: ResolvedGeneratorConfig,
  rng: RandomGenerator,
  options: InitOptions = {},
): TensorSource {
  const o = withDefaults(DEFAULTS, options);
  checkNumber(o.initAdaLn, 'options.initAdaLn');
  checkNumber(o.initAdaLnGamma, 'options.initAdaLnGamma');
  checkNumber(o.initHead, 'options.initHead');
  checkNumber(o.initStd, 'options.initStd');
  const C = c.width;
  const std = o.initStd < 0 ? Math.sqrt(1 / C / 3) : o.initStd;
  const values = new Map<string, Float32Array>();
  for (const [name, p] of Object.entries(spec)) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const last = name.slice(name.lastIndexOf('.') + 1);
    let data: Float32Array;
    if (last === 'bias' || last === 'q_bias' || last === 'v_bias') {
      data = new Float32Array(n);
    } else if (last === 'scale_mul_1H11') {
      data = new Float32Array(n).fill(Math.fround(Math.log(4)));
    } else if (last === 'ada_gss') {
      data = truncNormalArray(rng, n, 1 / Math.sqrt(C), -Infinity, Infinity);
      scaleRows(data, C, 0, 2, o.initAdaLnGamma);
      scaleRows(data, C, 2, 6, o.initAdaLn);
    } else if (name === 'pos_1LC' && p.shape.length === 4) {
      data = sinCos2dTable(p.shape[1]!, p.shape[2]!);
    } else {
      data = truncNormalArray(rng, n, std);
    }
    if (name === 'head.weight') scaleRows(data, C, 0, p.shape[0]!, o.initHead);
    if (name === 'head_nm.ada_lin.1.weight') scaleRows(data, C, 0, p.shape[0]!, o.initAdaLn);
    if (/^blocks\.\d+\.(attn\.proj|ffn\.fc2)\.weight$/.test(name)) {
      scaleRows(data, p.shape[1]!, 0, p.shape[0]!, 1 / Math.sqrt(2 * c.depth));
    }
    if (/^blocks\.\d+\.ada_lin\.1\.weight$/.test(name)) {
      scaleRows(data, C, 0, 2 * C, o.initAdaLnGamma);
      scaleRows(data, C, 2 * C, 6 * C, o.initAdaLn);
    }
    values.set(name, data);
  }
  return {
    keys: () => [...values.keys()],
    info: (name) => ({ dtype: 'F32', shape: [...spec[name]!.shape] }),
    tensor: async (name) => tf.tensor(values.get(name)!, [...spec[name]!.shape], 'float32'),
  };
}
