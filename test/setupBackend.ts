// Runs before every numeric test file: the full @tensorflow/tfjs (core alone registers no gradients), then the backend
// this vitest project is for. `backendName` lets tests put the backend in their titles and pick tolerances.
import '@tensorflow/tfjs';
import { useBackendFromEnv } from '@nextdetail/core/node';

await useBackendFromEnv('cpu');
