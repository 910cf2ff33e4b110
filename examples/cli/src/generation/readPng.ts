import { renameArgument } from '../argumentNames.js';
import { loadInput } from '../input.js';
import type { Raster } from '../raster.js';

/** Reads a PNG given by `flag`; a missing or undecodable file is an error naming the flag. */
export async function readPng(path: string, flag: string): Promise<Raster> {
  try {
    return (await loadInput(path)).image;
  } catch (err) {
    throw renameArgument(err, { input: flag });
  }
}
