import * as tf from '@tensorflow/tfjs';
import type { GranularityStep, NvgTokenizer } from '@nextdetail/tokenizers';
import type { NvgGenerator } from '@nextdetail/transformer';

/** What a fresh NVG generator takes from a sample of its training images (see nvgCalibration). */
export interface NvgCalibration {
  /** The S + 1 per-stage scale factors. */
  scaleFactors: number[];
  /** τ of the nearest-code token head. */
  tokenTemperature: number;
}

/**
 * A fresh NVG generator's calibration on a sample of the training images, from one encoding:
 * - scale factors: 1 for stage 0 (which reads the learned start embedding), 1/RMS of the canvas entering each later
 *   stage, and 1/RMS of the final canvas, so that the content generator reads and predicts canvases of unit scale
 *   whatever the tokenizer's latent scale;
 * - the temperature τ = 2σ² of the nearest-code token head (setNearestCodeTokenHead), σ² the mean squared gap between
 *   each position's residual of the final canvas and its cluster's code at every stage.
 */
// Reference digest §3.3 "Content path" (scale_factors = [1.0, 4.1993, …, 1.6080] for the released tokenizer: the
// canvas's scale grows stage by stage)
export async function nvgCalibration(tokenizer: NvgTokenizer, images_BHWC: tf.Tensor4D): Promise<NvgCalibration> {
  const plan = await tokenizer.encode(images_BHWC);
  try {
    const steps = plan.steps as GranularityStep[];
    const stats_N = tf.tidy(() => {
      const input_BSPX = tokenizer.trainingInput(plan);
      const [batch, stages, positions] = input_BSPX.shape;
      const channels = tokenizer.latentChannels;
      const canvas_BSPC = tf.slice(input_BSPX, [0, 0, 0, 0], [-1, stages, -1, channels]);
      const final_BPC = tf.reshape(tokenizer.planToLatent(plan), [batch, positions, channels]);
      const rms_S = tf.sqrt(tf.mean(tf.square(canvas_BSPC), [0, 2, 3]));
      const finalRms = tf.sqrt(tf.mean(tf.square(final_BPC)));
      const gaps = steps.map((step, s) => {
        const canvas_BPC = tf.reshape(tf.slice(canvas_BSPC, [0, s, 0, 0], [-1, 1, -1, -1]), [batch, positions, channels]);
        const offset_B1 = tf.reshape(tf.range(0, batch * 2 ** s, 2 ** s, 'int32'), [batch, 1]);
        const tokens_BP = tf.gather(tf.reshape(step.idx_Bl, [-1]), tf.add(step.labels_Bl, offset_B1));
        return tf.mean(tf.squaredDifference(tf.sub(final_BPC, canvas_BPC), tf.gather(tokenizer.quantizer.embedding_VC, tokens_BP)));
      });
      return tf.concat([rms_S, tf.reshape(finalRms, [1]), tf.reshape(tf.mean(tf.stack(gaps)), [1])]);
    });
    const stats = Array.from(await stats_N.data());
    stats_N.dispose();
    const sigma2 = stats.pop()!;
    return { scaleFactors: stats.map((r, s) => (s === 0 || !(r > 0) ? 1 : Math.fround(1 / r))), tokenTemperature: 2 * sigma2 };
  } finally {
    tf.dispose(plan);
  }
}

/**
 * Starts NVG's token head (cls_head: cluster mean residual g → logits) as the tokenizer's own nearest-code rule,
 * logits_v = (2 g·e_v − |e_v|²)/τ, i.e. −|g − e_v|²/τ up to a constant, for the codebook `codebook_VC` [V, C].
 *
 * The residuals of a small tokenizer's latent are small (RMS about 0.2 here, against 0.6 for the released one), so a
 * head drawn at random needs weights of about 10 to give sharp logits, which AdamW at lr 2e-3 takes thousands of steps
 * to grow; meanwhile the cross-entropy inflates the predicted canvas instead. Started this way, 800 steps reach the
 * content quality that 8 000 steps from a random head did (assets/models/MODELS.md).
 */
export function setNearestCodeTokenHead(generator: NvgGenerator, codebook_VC: tf.Tensor2D, tau: number): void {
  const weight = generator.trainableVariables().get('cls_head.linear.weight')!;
  const bias = generator.trainableVariables().get('cls_head.linear.bias')!;
  tf.tidy(() => {
    const w_VC = tf.div(tf.mul(codebook_VC, 2), tau);
    weight.assign(weight.shape[0] === generator.config.cvae ? tf.transpose(w_VC) : w_VC);
    bias.assign(tf.div(tf.neg(tf.sum(tf.square(codebook_VC), 1)), tau));
  });
}
