import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError, InvalidArgumentError } from './errors.js';
import { registerFallbackKernels } from './kernels/registerFallbacks.js';

/**
 * The backends nextdetail knows how to start. `tensorflow` is libtensorflow through `@tensorflow/tfjs-node-gpu` or
 * `@tensorflow/tfjs-node` and exists only behind `@nextdetail/core/node`.
 */
export const BACKEND_NAMES = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** What a loader found out while starting its backend, shown by `doctor` and returned by `useBackend`. */
export interface BackendInfo {
  name: BackendName;
  /** Short human-readable facts: adapter name, thread count, whether CUDA was found. */
  details: string[];
}

/**
 * Starts one backend and makes it current, or throws a BackendUnavailableError saying why it cannot. A loader may
 * be called again after a failure or after another backend was selected.
 */
export type BackendLoader = () => Promise<BackendInfo>;

// Kept on globalThis so the ESM and CJS builds (and the main and /node entries) share one registry.
const REGISTRY_KEY = Symbol.for('@nextdetail/core/backend-loaders');
const loaders: Map<BackendName, BackendLoader> = ((globalThis as Record<symbol, unknown>)[REGISTRY_KEY] ??= new Map()) as Map<
  BackendName,
  BackendLoader
>;

/** Registers (or replaces) how a backend is started. The Node entry uses this to add Dawn's WebGPU and libtensorflow. */
export function registerBackendLoader(name: BackendName, loader: BackendLoader): void {
  loaders.set(name, loader);
}

function isBackendName(name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name);
}

/**
 * Parses a backend list such as `"webgpu,cpu"` (the format of the `NEXTDETAIL_BACKEND` environment variable).
 * `"auto"` or an empty string means every known backend in the default priority order.
 */
export function parseBackendList(spec: string, argument = 'backend'): BackendName[] {
  const names = spec
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.length > 0);
  if (names.length === 0 || (names.length === 1 && names[0] === 'auto')) return [...BACKEND_NAMES];
  for (const name of names) {
    if (!isBackendName(name)) {
      throw new InvalidArgumentError(argument, `one of ${BACKEND_NAMES.join(', ')} or "auto"`, JSON.stringify(name));
    }
  }
  return names as BackendName[];
}

export interface UseBackendOptions {
  /** Called for each backend that was tried and could not start, before the next one is tried. */
  onSkip?: (name: BackendName, reason: string) => void;
}

/**
 * Picks the backend for this process, at start-up, before any tensor is made.
 *
 * - `useBackend('webgpu')`: that backend or a BackendUnavailableError saying why not.
 * - `useBackend(['webgpu', 'wasm', 'cpu'])`: the first of these that starts (priority order).
 * - `useBackend()` or `useBackend('auto')`: tensorflow, webgpu, wasm, cpu in that order.
 *
 * In Node import `@nextdetail/core/node` first: it registers the Node-only loaders and reads `NEXTDETAIL_BACKEND`.
 */
export async function useBackend(
  spec: BackendName | 'auto' | readonly BackendName[] = 'auto',
  options: UseBackendOptions = {},
): Promise<BackendInfo> {
  const names = typeof spec === 'string' ? parseBackendList(spec) : [...spec];
  if (names.length === 0) throw new InvalidArgumentError('backend', 'at least one backend name', 'an empty list');
  for (const name of names) {
    if (!isBackendName(name)) {
      throw new InvalidArgumentError('backend', `one of ${BACKEND_NAMES.join(', ')}`, JSON.stringify(name));
    }
  }
  const failures: string[] = [];
  for (const name of names) {
    try {
      return await startBackend(name);
    } catch (err) {
      const reason = err instanceof BackendUnavailableError ? err.reason : String(err);
      failures.push(`${name}: ${reason}`);
      if (names.length === 1) throw err instanceof BackendUnavailableError ? err : new BackendUnavailableError(name, reason);
      options.onSkip?.(name, reason);
    }
  }
  throw new BackendUnavailableError(names.join(','), `none could start (${failures.join('; ')})`);
}

async function startBackend(name: BackendName): Promise<BackendInfo> {
  const loader = loaders.get(name);
  if (!loader) {
    throw new BackendUnavailableError(name, 'no loader registered (in Node, import "@nextdetail/core/node" first)');
  }
  return loader();
}

/**
 * Makes `name` current after its module registered it, and adds composite fallbacks for kernels it lacks (their
 * names are returned); throws when tfjs cannot initialise it.
 */
export async function activate(name: string): Promise<string[]> {
  let ok = false;
  try {
    ok = await tf.setBackend(name);
  } catch (err) {
    throw new BackendUnavailableError(name, `initialisation failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!ok) throw new BackendUnavailableError(name, 'tfjs could not initialise it');
  await tf.ready();
  return registerFallbackKernels(name);
}

/** Imports an optional peer dependency, turning "not installed" into a BackendUnavailableError. */
export async function importOptional<T>(backend: BackendName, specifier: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const missing = /Cannot find (module|package)|ERR_MODULE_NOT_FOUND|(Failed to|Could not) resolve/.test(message);
    throw new BackendUnavailableError(
      backend,
      missing ? `the package "${specifier}" is not installed (npm install ${specifier})` : `importing "${specifier}" failed: ${message}`,
    );
  }
}

registerBackendLoader('cpu', async () => {
  await importOptional('cpu', '@tensorflow/tfjs-backend-cpu', () => import('@tensorflow/tfjs-backend-cpu'));
  await activate('cpu');
  return { name: 'cpu', details: ['plain JavaScript kernels'] };
});

registerBackendLoader('wasm', async () => {
  await importOptional('wasm', '@tensorflow/tfjs-backend-wasm', () => import('@tensorflow/tfjs-backend-wasm'));
  const fallbacks = await activate('wasm');
  return { name: 'wasm', details: fallbacks.length ? [`composite fallbacks: ${fallbacks.join(', ')}`] : [] };
});

interface AdapterInfo {
  vendor?: string;
  architecture?: string;
  description?: string;
}

/**
 * Starts tfjs's WebGPU backend on `navigator.gpu`, first asking for an adapter ourselves so that "no GPU" gets a
 * clear reason instead of tfjs's generic failure. `hints` say what to do about each failure where this runs.
 */
export async function startWebGPU(
  hints: { noGpu: string; noAdapter: string },
  extraDetails: string[] = [],
): Promise<BackendInfo> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<{ info?: AdapterInfo } | null> } } })
    .navigator?.gpu;
  if (!gpu) throw new BackendUnavailableError('webgpu', hints.noGpu);
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new BackendUnavailableError('webgpu', hints.noAdapter);
  await importOptional('webgpu', '@tensorflow/tfjs-backend-webgpu', () => import('@tensorflow/tfjs-backend-webgpu'));
  await activate('webgpu');
  const { vendor, architecture, description } = adapter.info ?? {};
  const name = [vendor, architecture, description].filter(Boolean).join(' ');
  return { name: 'webgpu', details: [`adapter: ${name || 'unknown'}`, ...extraDetails] };
}

registerBackendLoader('webgpu', () =>
  startWebGPU({
    noGpu: 'navigator.gpu is missing (in a browser: WebGPU is not enabled; in Node: import "@nextdetail/core/node", which installs Dawn from the "webgpu" package)',
    noAdapter: 'the browser found no WebGPU adapter',
  }),
);
