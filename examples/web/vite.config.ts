import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

// The pipeline files the CLI ships (examples/cli/assets/models/<method>.safetensors, or the folder named by
// NEXTDETAIL_WEB_MODELS). Whichever exist when the app is built or served are served under models/ (copied into the
// build) and offered in the page's model selector; the others are listed as not shipped yet.
const MODELS_DIR = `${process.env.NEXTDETAIL_WEB_MODELS ?? fileURLToPath(new URL('../cli/assets/models', import.meta.url))}/`;
const METHODS = ['var', 'cart', 'flexvar', 'nvg'] as const;

function shippedModels(): string[] {
  if (!existsSync(MODELS_DIR)) return [];
  const files = new Set(readdirSync(MODELS_DIR));
  return METHODS.filter((m) => files.has(`${m}.safetensors`));
}

// The dev server's route to the shipped files (a build copies them instead).
function modelFiles(): Plugin {
  const serve = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const method = /^\/models\/([a-z]+)\.safetensors$/.exec(req.url?.split('?')[0] ?? '')?.[1];
    if (!method || !shippedModels().includes(method)) return next();
    const file = `${MODELS_DIR}${method}.safetensors`;
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': statSync(file).size });
    createReadStream(file).pipe(res);
  };
  return {
    name: 'nextdetail-model-files',
    config: () => ({ define: { __SHIPPED_MODELS__: JSON.stringify(shippedModels()) } }),
    configureServer: (server) => void server.middlewares.use(serve),
    generateBundle() {
      for (const method of shippedModels()) {
        this.emitFile({ type: 'asset', fileName: `models/${method}.safetensors`, source: readFileSync(`${MODELS_DIR}${method}.safetensors`) });
      }
    },
  };
}

export default defineConfig({
  // Relative asset URLs, so the built app works from any folder of a static server.
  base: './',
  // A missing file is a 404, not index.html (a model URL that points nowhere must say so).
  appType: 'mpa',
  plugins: [modelFiles()],
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
});
