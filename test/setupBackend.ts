// Runs before every numeric test file: the full @tensorflow/tfjs (core alone registers no gradients), then the backend
// this vitest project is for. `backendName` lets tests put the backend in their titles and pick tolerances.
import * as tf from '@tensorflow/tfjs';
import { useBackendFromEnv } from '@nextdetail/core/node';

// Silences tfjs's "install the node backend" banner, which would otherwise be printed by every test file.
tf.env().set('IS_TEST', true);

await useBackendFromEnv('cpu');
