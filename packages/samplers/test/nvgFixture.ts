import * as tf from '@tensorflow/tfjs-core';
import type { SafetensorsFile } from '@nextdetail/core/node';

// NVG sampler tests: the recorded settings of the fixture's traces (`__metadata__.spec_json`).

export interface NvgTraceSpec {
  structure_sampling_step: number;
  top_k: number;
}

export interface NvgSpec {
  teacher_forced: NvgTraceSpec & { cfg: number | null };
  free_running: NvgTraceSpec & {
    content_cfg_linspace: [number, number, number];
    structure_cfg_linspace: [number, number, number];
    use_gumbel_topk: boolean;
  };
}

export function nvgSpec(file: SafetensorsFile): NvgSpec {
  return JSON.parse(file.metadata.spec_json ?? '{}') as NvgSpec;
}

/** An I64 fixture tensor as int32. */
export async function int32Tensor(file: SafetensorsFile, key: string): Promise<tf.Tensor> {
  const t = await file.tensor(key);
  if (t.dtype === 'int32') return t;
  const cast = tf.cast(t, 'int32');
  t.dispose();
  return cast;
}
