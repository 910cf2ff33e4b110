import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, readSafetensors } from '@nextdetail/core';
import { FashionClassifier } from './fashionClassifier.js';

/** The classifier trained by `nextdetail train-classifier` and shipped with the CLI (see assets/CLASSIFIER.md). */
export const SHIPPED_CLASSIFIER = fileURLToPath(new URL('../assets/classifier.safetensors', import.meta.url));

/** A classifier file and what its metadata says (test accuracy, training settings). */
export async function loadClassifierFile(path: string = SHIPPED_CLASSIFIER, flag = '--classifier'): Promise<{ classifier: FashionClassifier; metadata: Record<string, string> }> {
  if (!existsSync(path)) {
    const hint = path === SHIPPED_CLASSIFIER ? ' (the shipped classifier is missing: run nextdetail train-classifier)' : '';
    throw new InvalidArgumentError(flag, `a classifier .safetensors file${hint}`, `${JSON.stringify(path)} (no such file)`);
  }
  const bytes = new Uint8Array(await readFile(path));
  const file = await readSafetensors(bytes);
  const metadata = { ...file.metadata };
  await file.close();
  return { classifier: await FashionClassifier.fromSafetensors(bytes), metadata };
}
