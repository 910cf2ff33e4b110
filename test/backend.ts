import * as tf from '@tensorflow/tfjs-core';

/** The backend the current test project runs on. */
export function backendName(): string {
  return tf.getBackend();
}

/**
 * Runs `fn` and checks that it left no tensors behind: every public call must be leak-free.
 */
export async function expectNoLeaks<T>(fn: () => Promise<T> | T): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await fn();
  const after = tf.memory().numTensors;
  if (after !== before) throw new Error(`leaked ${after - before} tensor(s) (${before} before, ${after} after)`);
  return result;
}
