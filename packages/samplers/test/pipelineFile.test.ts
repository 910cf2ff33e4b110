import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointFormatError, InvalidArgumentError, readSafetensors, writeSafetensors } from '@nextdetail/core';
import { CartTokenizer, FlexVarTokenizer, NvgTokenizer, type Tokenizer, VarTokenizer } from '@nextdetail/tokenizers';
import { backendName, expectNoLeaks } from '../../../test/backend';
import { convertPipeline, disposePipeline, generate, loadPipeline, type Pipeline, type PipelineMethod, type PipelineParts, writePipeline } from '../src/index';
import { planIds, tinyPipelineParts } from './pipelines';

// A pipeline file round trip: the loaded tokenizer and generator generate exactly what the written ones do.

const info = { classNames: Array.from({ length: 10 }, (_, i) => `class ${i}`), imageSize: 8, training: { steps: 0 } };

/** The tokenizer of `parts`, built directly from its state dict bytes. */
async function originalTokenizer(parts: PipelineParts): Promise<Tokenizer> {
  const file = await readSafetensors(parts.tokenizerStateDict);
  try {
    const config = parts.tokenizerConfig as never;
    if (parts.method === 'var') return await VarTokenizer.fromStateDict(file, config);
    if (parts.method === 'cart') return await CartTokenizer.fromStateDict(file, config);
    if (parts.method === 'flexvar') return await FlexVarTokenizer.fromStateDict(file, config);
    return await NvgTokenizer.fromStateDict(file, config);
  } finally {
    await file.close();
  }
}

/** Generates with a tokenizer and generator of any one method. */
function generateWith(tokenizer: Tokenizer, generator: PipelineParts['generator'], method: PipelineMethod) {
  const run = generate as (t: Tokenizer, g: PipelineParts['generator'], o: object) => ReturnType<typeof generate>;
  return run(tokenizer, generator, method === 'nvg' ? { labels: [1], seed: 3, topK: 4, structureSteps: 2 } : { labels: [3, 7], seed: 5, topK: 4, cfg: 1.5 });
}

describe(`pipeline files [${backendName()}]`, () => {
  const open: Pipeline[] = [];
  afterAll(() => open.forEach(disposePipeline));

  for (const method of ['var', 'cart', 'flexvar', 'nvg'] as const) {
    it(`${method}: writePipeline → loadPipeline generates the same images from the same seed, leak-free`, async () => {
      const parts = await tinyPipelineParts(method, info, 1);
      const bytes = await expectNoLeaks(() => writePipeline(parts));
      const loaded = await loadPipeline(bytes);
      open.push(loaded);
      expect(loaded.method).toBe(method);
      expect(loaded.info).toEqual(info);
      expect(loaded.generator.config).toEqual(parts.generator.config);
      const tokenizer = await originalTokenizer(parts);
      const original = await generateWith(tokenizer, parts.generator, method);
      const again = await generateWith(loaded.tokenizer, loaded.generator, method);
      expect(await planIds(again.plan)).toEqual(await planIds(original.plan));
      expect(Array.from(await again.images_BHWC.data())).toEqual(Array.from(await original.images_BHWC.data()));
      tf.dispose([original.images_BHWC, again.images_BHWC, original.plan, again.plan]);
      parts.generator.dispose();
      tokenizer.dispose();
      await expectNoLeaks(async () => disposePipeline(await loadPipeline(new Blob([bytes.slice()]))));
    });
  }

  for (const method of ['var', 'nvg'] as const) {
    it(`${method}: a float16 file is half the size, holds F16 weights within half a float16 step of the float32 ones, loads and generates; convertPipeline converts both ways, leak-free`, async () => {
      const parts = await tinyPipelineParts(method, info, 1);
      try {
        const full = await writePipeline(parts);
        const half = await expectNoLeaks(() => writePipeline(parts, { dtype: 'float16' }));
        const [fullFile, halfFile] = await Promise.all([readSafetensors(full), readSafetensors(half)]);
        const floats = fullFile.keys().filter((k) => fullFile.info(k).dtype === 'F32');
        expect(floats.length).toBeGreaterThan(0);
        expect(halfFile.keys().sort()).toEqual(fullFile.keys().sort());
        for (const name of floats) {
          expect(halfFile.info(name).dtype, name).toBe('F16');
          const [a, b] = await Promise.all([fullFile.rawTensor(name), halfFile.rawTensor(name)]);
          // float16 keeps 11 significant bits: a relative error of at most 2^-11, or 2^-25 absolute below 2^-14.
          const [wide, narrow] = [a.data as Float32Array, b.data as Float32Array];
          const far = wide.findIndex((v, i) => !(Math.abs(v - narrow[i]!) <= Math.max(Math.abs(v) * 2 ** -11, 2 ** -25)));
          expect(far, `${name}[${far}]: ${wide[far]} stored as ${narrow[far]}`).toBe(-1);
        }
        expect(halfFile.metadata).toEqual(fullFile.metadata);
        await Promise.all([fullFile.close(), halfFile.close()]);
        expect(half.byteLength).toBeLessThan(full.byteLength * 0.55);
        const loaded = await loadPipeline(half);
        open.push(loaded);
        const result = await generateWith(loaded.tokenizer, loaded.generator, method);
        const pixels = await result.images_BHWC.data();
        expect(pixels.every(Number.isFinite)).toBe(true);
        tf.dispose([result.images_BHWC, result.plan]);
        await expect(writePipeline(parts, { dtype: 'bfloat16' as 'float16' })).rejects.toThrow(/options\.dtype.*"float32" or "float16".*bfloat16/);
        // Converting the float32 file gives the float16 file byte for byte; widening it back keeps every stored value.
        const converted = await expectNoLeaks(() => convertPipeline(full, { dtype: 'float16' }));
        expect(converted.length === half.length && converted.every((byte, i) => byte === half[i])).toBe(true);
        const widened = await readSafetensors(await convertPipeline(half, { dtype: 'float32' }));
        const again = await readSafetensors(half);
        for (const name of floats) {
          expect(widened.info(name).dtype).toBe('F32');
          const [w, h] = [(await widened.rawTensor(name)).data as Float32Array, (await again.rawTensor(name)).data as Float32Array];
          expect(w.length === h.length && w.every((v, i) => Object.is(v, h[i])), name).toBe(true);
        }
        await Promise.all([widened.close(), again.close()]);
        const plain = await writeSafetensors({ x: { dtype: 'F32', shape: [1], data: new Float32Array(1) } }, { kind: 'something' });
        await expect(convertPipeline(plain, { dtype: 'float16' })).rejects.toThrow(/not a pipeline file.*"something"/);
      } finally {
        parts.generator.dispose();
      }
    });
  }

  it('recommended sampling settings: written, loaded, replaced and removed by convertPipeline with the tensors untouched, and checked', async () => {
    const parts = await tinyPipelineParts('nvg', info, 1);
    try {
      const sampling = { cfg: 3, topP: 0.5, structureSteps: 1, structureSource: 'prediction' as const, structureRefinements: 6, structureCfg: [3, 1] as [number, number] };
      const bytes = await writePipeline({ ...parts, info: { ...info, sampling } }, { dtype: 'float16' });
      const loaded = await loadPipeline(bytes);
      expect(loaded.info).toEqual({ ...info, sampling });
      disposePipeline(loaded);

      const replaced = await expectNoLeaks(() => convertPipeline(bytes, { sampling: { cfg: 2 } }));
      const [before, after] = [await readSafetensors(bytes), await readSafetensors(replaced)];
      expect(after.keys()).toEqual(before.keys());
      for (const name of before.keys()) expect((await after.rawTensor(name)).data).toEqual((await before.rawTensor(name)).data);
      expect({ ...after.metadata, info: '' }).toEqual({ ...before.metadata, info: '' });
      expect(JSON.parse(after.metadata.info!)).toEqual({ ...info, sampling: { cfg: 2 } });
      await Promise.all([before.close(), after.close()]);
      const removed = await loadPipeline(await convertPipeline(replaced, { sampling: null }));
      expect(removed.info).toEqual(info);
      disposePipeline(removed);

      await expect(convertPipeline(bytes, { sampling: { topP: 2 } })).rejects.toThrow(/options\.sampling\.topP.*\[0, 1\].*2/);
      await expect(convertPipeline(bytes, { sampling: { beams: 4 } as never })).rejects.toThrow(/options\.sampling: expected keys among.*"beams"/);
      await expect(writePipeline({ ...parts, info: { ...info, sampling: { structureSteps: 0 } } })).rejects.toThrow(/parts\.info.*structureSteps.*≥ 1/);
      await expect(convertPipeline(bytes, { sampling: { structureSource: 'x0' as never } })).rejects.toThrow(/options\.sampling\.structureSource.*"flow" or "prediction".*x0/);
      await expect(convertPipeline(bytes, { sampling: { structureRefinements: 0.5 } })).rejects.toThrow(/options\.sampling\.structureRefinements.*integer ≥ 0.*0\.5/);
      await expect(convertPipeline(bytes, { sampling: { structureCfg: [3] as never } })).rejects.toThrow(/options\.sampling\.structureCfg.*\[start, end\]/);
    } finally {
      parts.generator.dispose();
    }
    const scale = await tinyPipelineParts('var', info, 1);
    try {
      await expect(writePipeline({ ...scale, info: { ...info, sampling: { structureSteps: 1 } } })).rejects.toThrow(/sampling\.structureSteps: only in an NVG pipeline/);
      await expect(writePipeline({ ...scale, info: { ...info, sampling: { structureSource: 'flow' } } })).rejects.toThrow(/sampling\.structureSource: only in an NVG pipeline/);
      const file = await readSafetensors(await writePipeline(scale));
      const tensors = Object.fromEntries(await Promise.all(file.keys().map(async (k) => [k, await file.rawTensor(k)] as const)));
      const bad = await writeSafetensors(tensors as Parameters<typeof writeSafetensors>[0], { ...file.metadata, info: JSON.stringify({ ...info, sampling: { cfg: -1 } }) });
      await file.close();
      await expect(loadPipeline(bad)).rejects.toThrow(CheckpointFormatError);
      await expect(loadPipeline(bad)).rejects.toThrow(/sampling\.cfg.*≥ 0.*-1/);
    } finally {
      scale.generator.dispose();
    }
  });

  it('rejects files that are not pipelines and malformed metadata with typed errors naming the problem', async () => {
    const plain = await writeSafetensors({ x: { dtype: 'F32', shape: [1], data: new Float32Array(1) } }, { kind: 'something' });
    await expect(loadPipeline(plain)).rejects.toThrow(CheckpointFormatError);
    await expect(loadPipeline(plain)).rejects.toThrow(/not a pipeline file.*"something"/);
    const parts = await tinyPipelineParts('var', info, 1);
    try {
      const good = await readSafetensors(await writePipeline(parts));
      const tensors = Object.fromEntries(await Promise.all(good.keys().map(async (k) => [k, await good.rawTensor(k)] as const)));
      const rewrite = (metadata: Record<string, string>) =>
        writeSafetensors(tensors as Parameters<typeof writeSafetensors>[0], {
          ...good.metadata,
          ...metadata,
        });
      await expect(loadPipeline(await rewrite({ method: 'dalle' }))).rejects.toThrow(/method "dalle"/);
      await expect(loadPipeline(await rewrite({ info: '{' }))).rejects.toThrow(/info is not JSON/);
      await expect(loadPipeline(await rewrite({ info: '{"classNames":[1],"imageSize":8}' }))).rejects.toThrow(/classNames/);
      await good.close();
      await expect(writePipeline({ ...parts, method: 'gpt' } as unknown as PipelineParts)).rejects.toThrow(InvalidArgumentError);
      await expect(writePipeline({ ...parts, info: { classNames: [], imageSize: 0 } })).rejects.toThrow(/parts\.info.*imageSize/);
    } finally {
      parts.generator.dispose();
    }
  });
});
