import * as tf from '@tensorflow/tfjs';
import { type BackendInfo, type BackendName, parseBackendList, useBackend, useBackendFromEnv } from '@nextdetail/core/node';

/**
 * A GPU when Dawn finds one, else WebAssembly, which is about 20× faster than the plain-JavaScript cpu backend.
 * `tensorflow` (libtensorflow) is left out unless asked for: it is a large native install this example does not ship.
 */
const DEFAULT_BACKENDS: readonly BackendName[] = ['webgpu', 'wasm', 'cpu'];

/**
 * Starts the backend named by `--backend` (a list such as `webgpu,cpu`: the first that starts), else by
 * `NEXTDETAIL_BACKEND`, else the first of DEFAULT_BACKENDS that starts. Backends that were skipped are reported
 * through `onSkip`.
 */
export async function startBackend(
  list: string | undefined,
  onSkip: (name: BackendName, reason: string) => void,
): Promise<BackendInfo> {
  const info =
    list === undefined
      ? await useBackendFromEnv(DEFAULT_BACKENDS, { onSkip })
      : await useBackend(parseBackendList(list, '--backend'), { onSkip });
  // The cpu backend prints a multi-line "install tfjs-node" banner on first use. Production mode is tfjs's public
  // switch for its console messages; on the other backends they are left on, since they may matter there.
  if (info.name === 'cpu') tf.enableProdMode();
  return info;
}

/** One line for the log, e.g. `wasm (SIMD, single-threaded)`. */
export function describeBackend(info: BackendInfo): string {
  const details = [...info.details];
  if (info.name === 'wasm') {
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD';
    // tfjs turns its threaded WebAssembly build off in Node (tfjs issue #3830), so this reads "single-threaded" there.
    const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? 'multi-threaded' : 'single-threaded';
    details.unshift(`${simd}, ${threads}`);
  }
  return details.length > 0 ? `${info.name} (${details.join('; ')})` : info.name;
}
