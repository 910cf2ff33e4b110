import * as tf from '@tensorflow/tfjs-core';
import { checkTensor, describeShape, ShapeError } from '@nextdetail/core';
import { attentionComposite, limitBias } from './composite.js';
import { attentionHost } from './cpu.js';
import { attentionWebGPU, fitsAttentionWebGPU } from './webgpu.js';

/** The custom op's kernel name: one kernel per backend that has one, the composite everywhere else. */
export const ATTENTION = 'NextDetailAttention';

interface Attrs {
  scale: number;
}

type Inputs = Record<'q' | 'k' | 'v' | 'keyLimit', tf.TensorInfo>;

let registered = false;

/** Registers the backend kernels of the op and its gradient, once, the first time it is used. */
function registerKernels(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({
    kernelName: ATTENTION,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { q, k, v, keyLimit } = inputs as unknown as Inputs;
      const cpu = backend as unknown as Parameters<typeof attentionHost>[0] & {
        makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
      };
      return cpu.makeTensorInfo([...q.shape], 'float32', attentionHost(cpu, q, k, v, keyLimit, (attrs as unknown as Attrs).scale));
    },
  });
  tf.registerKernel({
    kernelName: ATTENTION,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { q, k, v, keyLimit } = inputs as unknown as Inputs;
      return attentionWebGPU(backend as never, q, k, v, keyLimit, (attrs as unknown as Attrs).scale);
    },
  });
  // The composite's gradient, from the probabilities recomputed by its ops: with S = (q·scale)·kᵀ + mask and P the
  // row softmax of S, dV = Pᵀ·dO, dS = P ⊙ (dO·Vᵀ − rowsum(P ⊙ dO·Vᵀ)), dq = scale·dS·k, dk = dSᵀ·(q·scale).
  tf.registerGradient({
    kernelName: ATTENTION,
    inputsToSave: ['q', 'k', 'v', 'keyLimit'],
    gradFunc: (dy, saved, attrs) => {
      const [q, k, v, keyLimit] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor1D];
      const { scale } = attrs as unknown as Attrs;
      const dO_BHLc = dy as tf.Tensor4D;
      const qs_BHLc = scale === 1 ? q : (tf.mul(q, scale) as tf.Tensor4D);
      const scores_BHLL = tf.add(tf.matMul(qs_BHLc, k, false, true), limitBias(keyLimit, k.shape[2]));
      const p_BHLL = tf.softmax(scores_BHLL) as tf.Tensor4D;
      const dP_BHLL = tf.matMul(dO_BHLc, v, false, true);
      const dS_BHLL = tf.mul(p_BHLL, tf.sub(dP_BHLL, tf.sum(tf.mul(p_BHLL, dP_BHLL), -1, true))) as tf.Tensor4D;
      const dQs_BHLc = tf.matMul(dS_BHLL, k);
      return {
        q: () => (scale === 1 ? dQs_BHLc : tf.mul(dQs_BHLc, scale)),
        k: () => tf.matMul(dS_BHLL, qs_BHLc, true, false),
        v: () => tf.matMul(p_BHLL, dO_BHLc, true, false),
        keyLimit: () => tf.zerosLike(keyLimit),
      };
    },
  });
}

function checkAttentionInputs(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, keyLimit_Lq: tf.Tensor1D | null): void {
  checkTensor(q, 'q_BHLc', { rank: 4, dtype: 'float32' });
  checkTensor(k, 'k_BHLc', { rank: 4, dtype: 'float32' });
  checkTensor(v, 'v_BHLc', { rank: 4, dtype: 'float32' });
  const [B, H, Lq, c] = q.shape;
  const Lk = k.shape[2];
  for (const [name, t] of [['k_BHLc', k], ['v_BHLc', v]] as const) {
    if (t.shape[0] !== B || t.shape[1] !== H || t.shape[2] !== Lk || t.shape[3] !== c) {
      throw new ShapeError(name, `[${B}, ${H}, ${Lk}, ${c}] (q's batch, heads and head size, k's key count)`, describeShape(t.shape));
    }
  }
  if (keyLimit_Lq) {
    checkTensor(keyLimit_Lq, 'keyLimit_Lq', { rank: 1, dtype: 'int32' });
    if (keyLimit_Lq.shape[0] !== Lq) throw new ShapeError('keyLimit_Lq', `[${Lq}] (one limit per query)`, describeShape(keyLimit_Lq.shape));
  }
}

/**
 * softmax(q·scale·kᵀ + mask)·v per batch row and head: `q_BHLc` [B, H, Lq, c], `k_BHLc`/`v_BHLc` [B, H, Lk, c];
 * query i sees the keys j < keyLimit_Lq[i] (int32 [Lq], each ≥ 1), every key when it is null. The JS kernel on cpu,
 * the WebGPU kernel where it applies, the composite from core ops on every other backend (wasm, tensorflow).
 */
export function attention(
  q_BHLc: tf.Tensor4D,
  k_BHLc: tf.Tensor4D,
  v_BHLc: tf.Tensor4D,
  scale: number,
  keyLimit_Lq: tf.Tensor1D | null,
): tf.Tensor4D {
  checkAttentionInputs(q_BHLc, k_BHLc, v_BHLc, keyLimit_Lq);
  registerKernels();
  const [B, H, Lq, c] = q_BHLc.shape;
  const backend = tf.getBackend();
  if (backend === 'cpu' || (backend === 'webgpu' && fitsAttentionWebGPU(B * H, Lq, c))) {
    return tf.tidy(() => {
      const keyLimit = keyLimit_Lq ?? tf.fill([Lq], k_BHLc.shape[2], 'int32');
      return tf.engine().runKernel(ATTENTION, { q: q_BHLc, k: k_BHLc, v: v_BHLc, keyLimit }, { scale } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
    });
  }
  return attentionComposite(q_BHLc, k_BHLc, v_BHLc, scale, keyLimit_Lq);
}
