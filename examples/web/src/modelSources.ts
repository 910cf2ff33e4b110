declare const __SHIPPED_MODELS__: string[];

/** One entry of the model selector: a URL to a pipeline file, and whether it was there when the app was built. */
export interface ModelSource {
  label: string;
  url: string;
  available: boolean;
}

const METHODS = ['var', 'cart', 'flexvar', 'nvg'] as const;

/**
 * The CLI's shipped pipeline files (examples/cli/assets/models/<method>.safetensors, served under models/ when they
 * existed at build time), preceded by `?model=<url>` when the page was opened with one.
 */
export function modelSources(search: string): ModelSource[] {
  const shipped = new Set(__SHIPPED_MODELS__);
  const sources: ModelSource[] = METHODS.map((m) => ({
    label: `${m.toUpperCase()} (models/${m}.safetensors${shipped.has(m) ? '' : ', not shipped yet'})`,
    url: `models/${m}.safetensors`,
    available: shipped.has(m),
  }));
  const given = new URLSearchParams(search).get('model');
  if (given) sources.unshift({ label: `?model=${given}`, url: given, available: true });
  return sources;
}

/** Why a model could not be opened, in words for the page. */
export function missingModelMessage(source: ModelSource): string {
  return source.available
    ? `Could not load ${source.url}.`
    : `${source.url} is not there: this method's pipeline file has not been shipped yet. Train one with the CLI ` +
        `(examples/cli/assets/models/), rebuild, or open the page with ?model=<url of a pipeline file>.`;
}
