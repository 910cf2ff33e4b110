import type * as tf from '@tensorflow/tfjs-core';
import type { StateDictEntry } from './checkpoint.js';

/** A trainable quantizer's parameters: the codebook and its Phi convolutions (module names → `.weight`/`.bias`). */
export interface CodebookAndPhi {
  embedding_VC: tf.Variable;
  phiNames: readonly string[];
  phiParams: ReadonlyMap<string, tf.Variable>;
}

export function codebookAndPhiVariables({ embedding_VC, phiNames, phiParams }: CodebookAndPhi): tf.Variable[] {
  return [embedding_VC, ...phiNames.flatMap((m) => [phiParams.get(`${m}.weight`)!, phiParams.get(`${m}.bias`)!])];
}

/** `quantize.embedding.weight` and the Phi convolutions under their reference names, for writeStateDict. */
export function codebookAndPhiEntries({ embedding_VC, phiNames, phiParams }: CodebookAndPhi): StateDictEntry[] {
  return [
    { name: 'quantize.embedding.weight', tensor: embedding_VC, transform: 'none' },
    ...phiNames.flatMap((m): StateDictEntry[] => [
      { name: `${m}.weight`, tensor: phiParams.get(`${m}.weight`)!, transform: 'conv2d' },
      { name: `${m}.bias`, tensor: phiParams.get(`${m}.bias`)!, transform: 'none' },
    ]),
  ];
}
