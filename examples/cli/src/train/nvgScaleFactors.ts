import * as tf from '@tensorflow/tfjs';
import type { NvgTokenizer } from '@nextdetail/tokenizers';

/**
 * NVG's per-stage scale factors for a tokenizer, from a sample of its training images: 1 for stage 0 (which reads the
 * learned start embedding), 1/RMS of the canvas entering each later stage, and 1/RMS of the final canvas, so that
 * the content generator reads and predicts canvases of unit scale whatever the tokenizer's latent scale.
 */
// Reference digest §3.3 "Content path" (scale_factors = [1.0, 4.1993, …, 1.6080] for the released tokenizer: the
// canvas's scale grows stage by stage)
export async function nvgScaleFactors(tokenizer: NvgTokenizer, images_BHWC: tf.Tensor4D): Promise<number[]> {
  const plan = await tokenizer.encode(images_BHWC);
  try {
    const rms_S1 = tf.tidy(() => {
      const input_BSPX = tokenizer.trainingInput(plan);
      const [, stages, , ] = input_BSPX.shape;
      const canvas_BSPC = tf.slice(input_BSPX, [0, 0, 0, 0], [-1, stages, -1, tokenizer.latentChannels]);
      const perStage_S = tf.sqrt(tf.mean(tf.square(canvas_BSPC), [0, 2, 3]));
      const final = tf.sqrt(tf.mean(tf.square(tokenizer.planToLatent(plan))));
      return tf.concat([perStage_S, tf.reshape(final, [1])]);
    });
    const rms = Array.from(await rms_S1.data());
    rms_S1.dispose();
    return rms.map((r, s) => (s === 0 || !(r > 0) ? 1 : Math.fround(1 / r)));
  } finally {
    tf.dispose(plan);
  }
}
