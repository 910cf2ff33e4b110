#!/usr/bin/env node
// The full tfjs package first, as an application would: it sets up the platform and the backends it bundles before
// @nextdetail/core picks one.
import '@tensorflow/tfjs';
import { NextDetailError } from '@nextdetail/core';
import { Command } from 'commander';
import { benchQualityCommand } from './commands/benchQualityCommand.js';
import { convertCommand } from './commands/convertCommand.js';
import { decomposeCommand } from './decomposeCommand.js';
import { doctorCommand } from './commands/doctorCommand.js';
import { evalCommand } from './commands/evalCommand.js';
import { generateCommand } from './commands/generateCommand.js';
import { inpaintCommand } from './commands/inpaintCommand.js';
import { outpaintCommand } from './commands/outpaintCommand.js';
import { trainClassifierCommand } from './commands/trainClassifierCommand.js';
import { trainCommand } from './commands/trainCommand.js';
import { trainTokenizerCommand } from './commands/trainTokenizerCommand.js';

const program = new Command('nextdetail')
  .description('nextdetail examples: coarse-to-fine image decomposition on TensorFlow.js')
  .addCommand(decomposeCommand())
  .addCommand(generateCommand())
  .addCommand(inpaintCommand())
  .addCommand(outpaintCommand())
  .addCommand(evalCommand())
  .addCommand(convertCommand())
  .addCommand(doctorCommand())
  .addCommand(trainClassifierCommand())
  .addCommand(trainTokenizerCommand())
  .addCommand(trainCommand())
  .addCommand(benchQualityCommand());

try {
  await program.parseAsync();
} catch (err) {
  // A NextDetailError is a usage problem (bad argument, missing backend): one line, no stack. Anything else is a
  // bug and keeps its stack trace.
  if (!(err instanceof NextDetailError)) throw err;
  console.error(`error: ${err.message}`);
  process.exitCode = 1;
}
