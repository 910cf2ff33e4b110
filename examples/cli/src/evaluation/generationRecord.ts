import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '@nextdetail/core';

/** What a generated image depends on besides its batch: the model file, the backend and the sampling flags. */
export type GenerationSettings = Readonly<Record<string, unknown>>;

const FILE = 'generation.json';

interface RecordFile {
  settings: GenerationSettings;
  /** Batch index → how many images it held, for every batch whose images are all saved. */
  batches: Record<string, number>;
}

/**
 * The record an image folder keeps of the batches saved in it (`generation.json`), so that a long generation (10 000
 * NVG images take hours on one CPU core) can stop and go on where it was. A batch is reused only with the settings
 * and the batch size it was generated with: its images depend on both, through the seed of the batch.
 */
export class GenerationRecord {
  private constructor(
    private readonly dir: string,
    private readonly record: RecordFile,
  ) {}

  /** Opens or starts the record in `dir`; a record with other settings is an error naming `flag`. */
  static async open(dir: string, settings: GenerationSettings, flag: string): Promise<GenerationRecord> {
    const path = join(dir, FILE);
    if (!existsSync(path)) return new GenerationRecord(dir, { settings, batches: {} });
    let record: RecordFile;
    try {
      record = JSON.parse(await readFile(path, 'utf8')) as RecordFile;
    } catch (err) {
      throw new InvalidArgumentError(flag, `a folder whose ${FILE} is readable JSON`, `${path} (${(err as Error).message})`);
    }
    const [wanted, found] = [JSON.stringify(settings), JSON.stringify(record.settings)];
    if (wanted !== found) {
      throw new InvalidArgumentError(flag, `a new folder, or one holding images generated with ${wanted}`, `${dir}, holding images generated with ${found}`);
    }
    return new GenerationRecord(dir, { settings, batches: record.batches ?? {} });
  }

  /** Whether batch `index` of `size` images was saved whole. */
  has(index: number, size: number): boolean {
    return this.record.batches[String(index)] === size;
  }

  /** Records batch `index` (of `size` images) as saved, and writes the record (atomically, so a kill leaves it whole). */
  async saved(index: number, size: number): Promise<void> {
    this.record.batches[String(index)] = size;
    const path = join(this.dir, FILE);
    await writeFile(`${path}.partial`, `${JSON.stringify(this.record)}\n`);
    await rename(`${path}.partial`, path);
  }
}
