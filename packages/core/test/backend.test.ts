import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, InvalidArgumentError, parseBackendList, useBackend } from '@nextdetail/core';
import { loadTensorflowBackend } from '@nextdetail/core/node';
import { backendName } from '../../../test/backend.js';

describe(`backend picker [${backendName()}]`, () => {
  it('parses backend lists, with "auto" meaning the default priority', () => {
    expect(parseBackendList('webgpu, CPU')).toEqual(['webgpu', 'cpu']);
    expect(parseBackendList('auto')).toEqual(['tensorflow', 'webgpu', 'wasm', 'cpu']);
    expect(parseBackendList('')).toEqual(['tensorflow', 'webgpu', 'wasm', 'cpu']);
    expect(() => parseBackendList('webgl', 'NEXTDETAIL_BACKEND')).toThrow(/NEXTDETAIL_BACKEND: expected one of tensorflow, webgpu, wasm, cpu or "auto", got "webgl"/);
  });

  it('rejects unknown names and empty lists', async () => {
    await expect(useBackend(['cuda' as never])).rejects.toThrow(InvalidArgumentError);
    await expect(useBackend([])).rejects.toThrow(/at least one backend name/);
  });

  it('names the missing package when a backend asked for by name is not installed', async () => {
    // libtensorflow's bindings cannot be installed on this project's machines.
    const error = await useBackend('tensorflow').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as BackendUnavailableError).backend).toBe('tensorflow');
    expect((error as Error).message).toMatch(/"@tensorflow\/tfjs-node-gpu" is not installed.*"@tensorflow\/tfjs-node" is not installed/);
    expect(tf.getBackend()).toBe(backendName());
  });

  it('falls through a priority list to the first backend that starts, reporting the ones it skipped', async () => {
    const current = tf.getBackend() as 'cpu';
    const skipped: string[] = [];
    const info = await useBackend(['tensorflow', current], { onSkip: (name, reason) => skipped.push(`${name}: ${reason}`) });
    expect(info.name).toBe(current);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatch(/^tensorflow: .*not installed/);
  });

  describe('tfjs-node-gpu that silently fell back to the CPU', () => {
    // A stand-in for @tensorflow/tfjs-node-gpu: registers a "tensorflow" backend that reports the flags the real
    // NodeJSKernelBackend exposes, with CUDA missing.
    const fakeNodeGpu = (usingGpu: boolean) => async () => {
      tf.registerBackend('tensorflow', () => Object.assign(new MathBackendCPU(), { isGPUPackage: true, isUsingGpuDevice: usingGpu }));
    };
    const restore = async () => {
      await tf.setBackend(backendName());
      tf.removeBackend('tensorflow');
    };
    const missing = () => Promise.reject(new Error("Cannot find module '@tensorflow/tfjs-node'"));

    it('is reported as a warning by default', async () => {
      const info = await loadTensorflowBackend({ gpu: fakeNodeGpu(false), cpu: missing }, false);
      await restore();
      expect(info.details.join('\n')).toMatch(/warning: tfjs-node-gpu loaded but found no CUDA device/);
    });

    it('is an error when a GPU is required', async () => {
      const error = await loadTensorflowBackend({ gpu: fakeNodeGpu(false), cpu: missing }, true).catch((e: unknown) => e);
      await restore();
      expect(error).toBeInstanceOf(BackendUnavailableError);
      expect((error as Error).message).toMatch(/found no CUDA device/);
    });

    it('says so when CUDA was found', async () => {
      const info = await loadTensorflowBackend({ gpu: fakeNodeGpu(true), cpu: missing }, true);
      await restore();
      expect(info.details).toContain('CUDA device: found');
    });
  });
});
