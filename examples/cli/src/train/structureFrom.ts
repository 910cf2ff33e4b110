import { InvalidArgumentError, readSafetensors, type SafetensorsFile, type WritableRawTensor, writeSafetensors } from '@nextdetail/core';
import { sameTensor } from './initialGenerator.js';

const FLAG = '--structure-from';
/** NVG's structure-flow network: every generator tensor named structure_*; the content generator shares none of them. */
const STRUCTURE = 'generator.structure_';

/**
 * NVG pipeline `model` with its structure-flow network taken from pipeline `donor`: both must hold the same tokenizer
 * and generator config. The result records the donor's training as `training.structureTraining`. For joining a content
 * generator and a structure flow trained apart (`train --parts`); the two losses share no parameters.
 */
export async function withStructureFrom(model: Uint8Array, donor: Uint8Array, donorPath: string): Promise<Uint8Array> {
  const [a, b] = [await readSafetensors(model), await readSafetensors(donor)];
  try {
    for (const [file, flag] of [[a, '<model>'], [b, FLAG]] as const) {
      if (file.metadata.method !== 'nvg') throw new InvalidArgumentError(flag, 'an NVG pipeline file', `method ${JSON.stringify(file.metadata.method)}`);
    }
    if (JSON.stringify(JSON.parse(a.metadata.generator_config!)) !== JSON.stringify(JSON.parse(b.metadata.generator_config!))) {
      throw new InvalidArgumentError(FLAG, "a generator of the <model>'s config", `${donorPath}: ${b.metadata.generator_config}`);
    }
    const tensors: Record<string, WritableRawTensor> = {};
    for (const name of a.keys()) {
      const structure = name.startsWith(STRUCTURE);
      if (name.startsWith('tokenizer.') && !(b.keys().includes(name) && (await sameTensor(a, name, b, name)))) {
        throw new InvalidArgumentError(FLAG, "a pipeline with the <model>'s tokenizer", `${donorPath}: "${name}" differs`);
      }
      tensors[name] = (await (structure ? b : a).rawTensor(name)) as WritableRawTensor;
    }
    const info = JSON.parse(a.metadata.info ?? '{}') as { training?: object };
    const donorTraining = (JSON.parse(b.metadata.info ?? '{}') as { training?: object }).training;
    const training = { ...info.training, structureTraining: donorTraining ?? null };
    return await writeSafetensors(tensors, { ...a.metadata, info: JSON.stringify({ ...info, training }) });
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}
