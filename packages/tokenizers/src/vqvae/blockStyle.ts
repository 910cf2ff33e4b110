/** How one autoencoder family names and sizes the parameters inside its blocks (the blocks' maths is shared). */
export interface BlockStyle {
  /** The state-dict prefix of the nn.Conv2d at module path `path`. */
  convPath(path: string): string;
  /** The state-dict prefix of the nn.GroupNorm at module path `path`. */
  normPath(path: string): string;
  /** GroupNorm's group count for `channels` channels. */
  groups(channels: number): number;
  /** Attention's q, k, v as one 1×1 conv `qkv` with outputs [q | k | v], or as three convs `q`, `k`, `v`. */
  fusedQkv: boolean;
}

/** VAR's VQVAE (FoundationVision/VAR@78b9539:models/basic_vae.py): plain modules, Normalize = GroupNorm(32, C). */
export const VAR_BLOCK_STYLE: BlockStyle = {
  convPath: (path) => path,
  normPath: (path) => path,
  groups: () => 32,
  fusedQkv: true,
};
