import * as tf from '@tensorflow/tfjs';
import type { GranularityStep, NvgTokenizer } from '@nextdetail/tokenizers';
import type { NvgGenerator } from '@nextdetail/transformer';

/**
 * Starts NVG's token head (cls_head: cluster mean residual → logits) as the tokenizer's own nearest-code rule,
 * logits_v = (2 g·e_v − |e_v|²)/τ, i.e. −|g − e_v|²/τ up to a constant, with τ = 2σ² for σ² the mean squared gap
 * between each position's residual of the final canvas and its cluster's code on `images_BHWC`. Returns τ.
 *
 * The residuals of a small tokenizer's latent are small (RMS about 0.2 here, against 0.6 for the released one), so a
 * head drawn at random needs weights of about 10 to give sharp logits, which AdamW at lr 2e-3 takes thousands of steps
 * to grow; meanwhile the cross-entropy inflates the predicted canvas instead. Started this way, 800 steps reach the
 * content quality that 8 000 steps from a random head did (assets/models/MODELS.md).
 */
export async function nearestCodeTokenHead(generator: NvgGenerator, tokenizer: NvgTokenizer, images_BHWC: tf.Tensor4D): Promise<number> {
  const c = generator.config;
  const plan = await tokenizer.encode(images_BHWC);
  try {
    const steps = plan.steps as GranularityStep[];
    const gap = tf.tidy(() => {
      const batch = images_BHWC.shape[0];
      const input_BSPX = tokenizer.trainingInput(plan);
      const final_BPC = tf.reshape(tokenizer.planToLatent(plan), [batch, c.positions, c.cvae]);
      const codebook_VC = tokenizer.quantizer.embedding_VC;
      const perStage = steps.map((step, s) => {
        const canvas_BPC = tf.reshape(tf.slice(input_BSPX, [0, s, 0, 0], [-1, 1, -1, c.cvae]), [batch, c.positions, c.cvae]);
        const clusters = 2 ** s;
        const offset_B1 = tf.reshape(tf.range(0, batch * clusters, clusters, 'int32'), [batch, 1]);
        const tokens_BP = tf.gather(tf.reshape(step.idx_Bl, [-1]), tf.add(step.labels_Bl, offset_B1));
        const code_BPC = tf.gather(codebook_VC, tokens_BP);
        return tf.mean(tf.squaredDifference(tf.sub(final_BPC, canvas_BPC), code_BPC));
      });
      return tf.mean(tf.stack(perStage));
    });
    const sigma2 = (await gap.data())[0]!;
    gap.dispose();
    const tau = 2 * sigma2;
    const weight = generator.trainableVariables().get('cls_head.linear.weight')!;
    const bias = generator.trainableVariables().get('cls_head.linear.bias')!;
    tf.tidy(() => {
      const codebook_VC = tokenizer.quantizer.embedding_VC;
      const w = tf.div(tf.mul(codebook_VC, 2), tau);
      weight.assign(weight.shape[0] === c.cvae ? tf.transpose(w) : w);
      bias.assign(tf.div(tf.neg(tf.sum(tf.square(codebook_VC), 1)), tau));
    });
    return tau;
  } finally {
    tf.dispose(plan);
  }
}
