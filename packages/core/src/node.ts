/**
 * Node-only entry: everything in the main entry, plus the backends that need Node — WebGPU through Dawn (the
 * `webgpu` package) and libtensorflow (`@tensorflow/tfjs-node-gpu` / `@tensorflow/tfjs-node`). Importing it
 * registers their loaders. Keep it out of browser bundles.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  activate,
  type BackendInfo,
  type BackendName,
  importOptional,
  parseBackendList,
  registerBackendLoader,
  startWebGPU,
  useBackend,
  type UseBackendOptions,
} from './backend.js';
import { BackendUnavailableError } from './errors.js';

export * from './index.js';
export { bytesFromFile, readSafetensorsFile } from './io/fileSource.js';
export { readPytorchFile } from './io/pytorchFile.js';

interface NodeTensorflowBackend {
  isGPUPackage?: boolean;
  isUsingGpuDevice?: boolean;
}

/**
 * Installs `navigator.gpu` from Dawn (the `webgpu` package) unless one exists. It has to happen before tfjs's
 * WebGPU backend is initialised. `flags` are Dawn's `create()` options, e.g. `['backend=vulkan']`.
 */
export async function installNodeWebGPU(flags: string[] = dawnFlagsFromEnv()): Promise<void> {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator?.gpu) return;
  const dawn = await importOptional('webgpu', 'webgpu', () => import('webgpu'));
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create(flags);
  if (g.navigator) {
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  } else {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  }
}

function dawnFlagsFromEnv(): string[] {
  const raw = process.env.NEXTDETAIL_DAWN_FLAGS;
  return raw ? raw.split(';').map((s) => s.trim()).filter(Boolean) : [];
}

registerBackendLoader('webgpu', async () => {
  await installNodeWebGPU();
  return startWebGPU(
    {
      noGpu: 'navigator.gpu could not be installed',
      noAdapter:
        'Dawn found no GPU adapter (no GPU driver; on a machine without a GPU install a CPU Vulkan driver such as lavapipe: see scripts/setup-vulkan.sh, and set VK_ICD_FILENAMES)',
    },
    ['Dawn (npm "webgpu")'],
  );
});

/**
 * tfjs-node-gpu falls back to the CPU silently when CUDA/cuDNN cannot be loaded; `requireGpu` turns that into an
 * error, and `details` always says which one happened.
 */
export async function loadTensorflowBackend(
  importers: { gpu: () => Promise<unknown>; cpu: () => Promise<unknown> } = {
    gpu: () => importByName('@tensorflow/tfjs-node-gpu'),
    cpu: () => importByName('@tensorflow/tfjs-node'),
  },
  requireGpu = process.env.NEXTDETAIL_REQUIRE_GPU === '1',
): Promise<BackendInfo> {
  let pkg = '@tensorflow/tfjs-node-gpu';
  try {
    await importOptional('tensorflow', pkg, importers.gpu);
  } catch (gpuErr) {
    pkg = '@tensorflow/tfjs-node';
    try {
      await importOptional('tensorflow', pkg, importers.cpu);
    } catch (cpuErr) {
      const reasons = [gpuErr, cpuErr].map((e) => (e instanceof BackendUnavailableError ? e.reason : String(e)));
      throw new BackendUnavailableError('tensorflow', reasons.join('; '));
    }
  }
  await activate('tensorflow');
  const backend = tf.backend() as NodeTensorflowBackend;
  const details = [`package: ${pkg}`];
  if (backend.isGPUPackage) {
    if (backend.isUsingGpuDevice) {
      details.push('CUDA device: found');
    } else {
      const reason =
        'tfjs-node-gpu loaded but found no CUDA device (CUDA/cuDNN libraries missing or no GPU visible), so it runs on the CPU';
      if (requireGpu) throw new BackendUnavailableError('tensorflow', reason);
      details.push(`warning: ${reason}`);
    }
  } else {
    details.push('CPU build of libtensorflow');
  }
  return { name: 'tensorflow', details };
}

// The specifier is a variable so that TypeScript and bundlers do not require these optional native packages.
function importByName(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ specifier);
}

registerBackendLoader('tensorflow', () => loadTensorflowBackend());

/**
 * `useBackend` with the spec taken from `NEXTDETAIL_BACKEND` (e.g. `webgpu,cpu`) when none is given.
 */
export async function useBackendFromEnv(
  fallback: BackendName | 'auto' | readonly BackendName[] = 'auto',
  options?: UseBackendOptions,
): Promise<BackendInfo> {
  const env = process.env.NEXTDETAIL_BACKEND;
  return useBackend(env ? parseBackendList(env, 'NEXTDETAIL_BACKEND') : fallback, options);
}
