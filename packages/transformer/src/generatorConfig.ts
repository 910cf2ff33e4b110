import { checkNumber, InvalidArgumentError, withDefaults } from '@nextdetail/core';

/**
 * The block-causal AdaLN transformer of VAR and FlexVAR (FoundationVision/VAR@78b9539:models/__init__.py build_vae_var,
 * models/var.py VAR.__init__; jiaosiyu1999/FlexVAR@04462cb:models/flexvar.py). Only `depth` is required: the builder
 * derives width = 64·depth and heads = depth (head dim 64).
 */
export interface GeneratorConfig {
  depth: number;
  /** Transformer width C (default 64·depth). */
  width?: number;
  /** Attention heads (default depth). */
  heads?: number;
  /** Class count; the class embedding has one more row, the unconditional one (default 1000). */
  numClasses?: number;
  /** Codebook size V (VAR 4096, FlexVAR 8912). */
  vocabSize?: number;
  /** Channels of the teacher-forcing input (the tokenizer's latent, Cvae; default 32). */
  latentChannels?: number;
  mlpRatio?: number;
  normEps?: number;
  /** One AdaLN linear for every block plus a per-block offset `ada_gss` (VAR's d36). */
  sharedAdaLn?: boolean;
  /** q, k L2-normalised with a learned per-head scale (default true); otherwise the softmax scale is 0.25/√hd. */
  attnL2Norm?: boolean;
}

export type ResolvedGeneratorConfig = Required<GeneratorConfig>;

const DEFAULTS = {
  numClasses: 1000,
  latentChannels: 32,
  mlpRatio: 4,
  normEps: 1e-6,
  sharedAdaLn: false,
  attnL2Norm: true,
} as const;

/** Fills the builder's defaults and checks every field (InvalidArgumentError naming `config.<field>`). */
export function resolveGeneratorConfig(config: GeneratorConfig, defaultVocabSize: number): ResolvedGeneratorConfig {
  if (config === null || typeof config !== 'object') {
    throw new InvalidArgumentError('config', 'an object with at least `depth`', String(config));
  }
  checkNumber(config.depth, 'config.depth', { min: 1, integer: true });
  const c: ResolvedGeneratorConfig = {
    ...withDefaults<Omit<ResolvedGeneratorConfig, 'depth'>>(
      { ...DEFAULTS, width: 64 * config.depth, heads: config.depth, vocabSize: defaultVocabSize },
      config,
    ),
    depth: config.depth,
  };
  for (const key of ['width', 'heads', 'numClasses', 'vocabSize', 'latentChannels'] as const) {
    checkNumber(c[key], `config.${key}`, { min: 1, integer: true });
  }
  checkNumber(c.mlpRatio, 'config.mlpRatio', { min: 0, exclusiveMin: true });
  checkNumber(c.normEps, 'config.normEps', { min: 0, exclusiveMin: true });
  if (!Number.isInteger(c.width * c.mlpRatio)) {
    throw new InvalidArgumentError('config.mlpRatio', 'a ratio with an integer hidden width width·mlpRatio', String(c.mlpRatio));
  }
  if (c.width % c.heads !== 0) {
    throw new InvalidArgumentError('config.heads', `a divisor of the width ${c.width}`, String(c.heads));
  }
  for (const key of ['sharedAdaLn', 'attnL2Norm'] as const) {
    if (typeof c[key] !== 'boolean') throw new InvalidArgumentError(`config.${key}`, 'a boolean', String(c[key]));
  }
  return c;
}

/** The generator config from the reference constructor's keyword arguments (a fixture's `config_json.VAR` / `.FlexVAR`). */
export function generatorConfigFromReference(kwargs: Readonly<Record<string, unknown>>): GeneratorConfig {
  const pick = <T>(key: string): T | undefined => kwargs[key] as T | undefined;
  return {
    depth: pick<number>('depth') as number,
    width: pick<number>('embed_dim'),
    heads: pick<number>('num_heads'),
    numClasses: pick<number>('num_classes'),
    mlpRatio: pick<number>('mlp_ratio'),
    normEps: pick<number>('norm_eps'),
    sharedAdaLn: pick<boolean>('shared_aln'),
    attnL2Norm: pick<boolean>('attn_l2_norm'),
  };
}
