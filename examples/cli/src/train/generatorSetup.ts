import { RandomGenerator } from '@nextdetail/core';
import type { PipelineMethod } from '@nextdetail/samplers';
import type { NvgTokenizer, Tokenizer } from '@nextdetail/tokenizers';
import { type FlexVarConfig, FlexVarGenerator, type NvgConfig, nvgConfigFor, NvgGenerator, type VarConfig, VarGenerator } from '@nextdetail/transformer';
import type { Preset } from './presets.js';

/** A method's generator config for `tokenizer`, at the preset's transformer sizes. */
export function generatorConfig(method: PipelineMethod, preset: Preset, tokenizer: Tokenizer, numClasses: number): VarConfig | FlexVarConfig | NvgConfig {
  const { depth, width, heads } = preset.generator;
  const common = { depth, width, heads, numClasses, vocabSize: tokenizer.vocabSize, latentChannels: tokenizer.latentChannels };
  const schedule = tokenizer.schedule();
  switch (method) {
    case 'var':
    case 'cart':
      // CART's detail steps repeat the latent side: the position table has one block per step.
      return { ...common, patchNums: schedule.map((s) => s.size[0]) };
    case 'flexvar':
      return { ...common, positionSide: schedule[schedule.length - 1]!.size[0] };
    case 'nvg': {
      const stages = (tokenizer as NvgTokenizer).stages;
      return nvgConfigFor({
        stages,
        cvae: tokenizer.latentChannels,
        vocabSize: tokenizer.vocabSize,
        numClasses,
        width,
        depth,
        heads: preset.nvgHeads,
        structure: preset.nvgStructure,
        timeEmbedDim: 16,
      });
    }
  }
}

/**
 * A freshly initialised generator of `config` (AdaLN gates near zero for the scale generators, as VAR trains; NVG's
 * scale factors from `scaleFactors` when given).
 */
export async function initGenerator(method: PipelineMethod, config: VarConfig | FlexVarConfig | NvgConfig, seed: number, scaleFactors?: readonly number[]) {
  const rng = new RandomGenerator(seed);
  if (method === 'nvg') return NvgGenerator.init(config as NvgConfig, rng, scaleFactors ? { scaleFactors } : {});
  if (method === 'flexvar') return FlexVarGenerator.init(config as FlexVarConfig, rng, { initAdaLnGamma: 1e-3 });
  return VarGenerator.init(config as VarConfig, rng, { initAdaLnGamma: 1e-3 });
}
