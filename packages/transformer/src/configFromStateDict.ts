import { InvalidArgumentError, type TensorSource } from '@nextdetail/core';
import type { GeneratorConfig } from './generatorConfig.js';

/**
 * The architecture a VAR/FlexVAR state dict was saved from, read off its tensor shapes (shared/fixtures/README.md
 * "Writing tests that also pass the held-out set"): C from word_embed, heads from scale_mul_1H11, depth from the
 * blocks, V from head, classes from class_emb, shared AdaLN from shared_ada_lin. `normEps` is not recorded (1e-6).
 */
export function generatorConfigFromStateDict(source: TensorSource, prefix = ''): GeneratorConfig {
  const keys = new Set(source.keys());
  const shape = (name: string): number[] => {
    if (!keys.has(prefix + name)) {
      throw new InvalidArgumentError('source', `a VAR/FlexVAR state dict with "${prefix + name}"`, 'no such tensor');
    }
    return source.info(prefix + name).shape;
  };
  const [width, latentChannels] = shape('word_embed.weight') as [number, number];
  let depth = 0;
  while (keys.has(`${prefix}blocks.${depth}.attn.proj.weight`)) depth++;
  if (depth === 0) throw new InvalidArgumentError('source', `a state dict with "${prefix}blocks.0.attn.proj.weight"`, 'no blocks');
  const scaleMul = `${prefix}blocks.0.attn.scale_mul_1H11`;
  const attnL2Norm = keys.has(scaleMul);
  return {
    depth,
    width,
    heads: attnL2Norm ? source.info(scaleMul).shape[1]! : depth,
    latentChannels,
    numClasses: shape('class_emb.weight')[0]! - 1,
    vocabSize: shape('head.weight')[0]!,
    mlpRatio: shape('blocks.0.ffn.fc1.weight')[0]! / width,
    sharedAdaLn: keys.has(`${prefix}shared_ada_lin.1.weight`),
    attnL2Norm,
  };
}
