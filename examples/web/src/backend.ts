import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { BackendUnavailableError, registerFallbackKernels, useBackend, type BackendName } from '@nextdetail/core';

/** The backend that runs and why the faster ones before it in the order do not. */
export interface BackendChoice {
  name: string;
  details: string[];
  skipped: { name: string; reason: string }[];
}

/** Fastest first. webgl is tfjs's own (nextdetail's picker knows webgpu, wasm and cpu). */
export const BACKEND_ORDER = ['webgpu', 'wasm', 'webgl', 'cpu'] as const;
export type WebBackend = (typeof BACKEND_ORDER)[number];

// The .wasm binaries are bundled by Vite from node_modules/@tensorflow/tfjs-backend-wasm/dist and served with the
// app: tfjs would otherwise fetch them from a CDN.
setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlainUrl,
  'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedUrl,
});

interface AdapterFacts {
  isFallbackAdapter?: boolean;
  info?: { isFallbackAdapter?: boolean; vendor?: string; architecture?: string; description?: string };
}

/**
 * Why WebGPU should be passed over here although the browser offers it: a software adapter (Chrome's SwiftShader or
 * Mesa's llvmpipe, which run WebGPU on the CPU when there is no usable GPU) is slower than the wasm backend, so only
 * `?backend=webgpu` takes it.
 */
async function softwareOnlyWebGPU(): Promise<string | undefined> {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<AdapterFacts | null> } }).gpu;
  const adapter = await gpu?.requestAdapter().catch(() => null);
  if (!adapter) return undefined;
  const info = adapter.info ?? {};
  const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ');
  const fallback = adapter.isFallbackAdapter === true || info.isFallbackAdapter === true || /swiftshader|llvmpipe|lavapipe/i.test(name);
  return fallback ? `the only WebGPU adapter is a software fallback (${name || 'no name'}), slower than wasm` : undefined;
}

async function startWebgl(): Promise<string[]> {
  if (!(await tf.setBackend('webgl'))) throw new Error('tfjs could not create a WebGL context');
  await tf.ready();
  const fallbacks = registerFallbackKernels('webgl');
  return fallbacks.length ? [`composite fallbacks: ${fallbacks.join(', ')}`] : [];
}

/**
 * Starts the first backend of `order` that works, noting for each one skipped why it could not start. A software
 * WebGPU adapter is skipped unless webgpu is the only backend asked for.
 */
export async function startBackend(order: readonly WebBackend[] = BACKEND_ORDER): Promise<BackendChoice> {
  const skipped: BackendChoice['skipped'] = [];
  for (const name of order) {
    try {
      const software = name === 'webgpu' && order.length > 1 ? await softwareOnlyWebGPU() : undefined;
      if (software) {
        skipped.push({ name, reason: software });
        continue;
      }
      if (name === 'webgl') return { name, details: await startWebgl(), skipped };
      const info = await useBackend(name as BackendName);
      return { name: info.name, details: info.details, skipped };
    } catch (err) {
      skipped.push({ name, reason: err instanceof BackendUnavailableError ? err.reason : err instanceof Error ? err.message : String(err) });
    }
  }
  throw new Error(`no backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** `?backend=wasm` (or a comma list) picks the order; anything else means the default. */
export function backendOrderFrom(param: string | null): WebBackend[] {
  const names = (param ?? '').split(',').map((s) => s.trim()).filter((s): s is WebBackend => (BACKEND_ORDER as readonly string[]).includes(s));
  return names.length ? names : [...BACKEND_ORDER];
}
