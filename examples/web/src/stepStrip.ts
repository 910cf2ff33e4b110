import { paint } from './imagePixels.js';

/** The row of coarse-to-fine previews under the image: one small canvas per generation step, in order. */
export class StepStrip {
  constructor(private readonly container: HTMLElement) {}

  clear(): void {
    this.container.replaceChildren();
  }

  /** Appends step `step` of `steps` with its preview image; `detail` says what the step added (its grid, clusters). */
  add(step: number, steps: number, detail: string, pixels: ImageData): void {
    const figure = document.createElement('figure');
    const canvas = document.createElement('canvas');
    canvas.dataset.step = String(step);
    canvas.title = `step ${step} of ${steps}: ${detail}`;
    paint(canvas, pixels);
    const caption = document.createElement('figcaption');
    caption.textContent = `${step}/${steps} · ${detail}`;
    figure.append(canvas, caption);
    this.container.append(figure);
  }
}
