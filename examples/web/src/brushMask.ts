import * as tf from '@tensorflow/tfjs';

/**
 * A brush over the image for in-painting: an overlay canvas with the image's pixel grid on which the pointer paints
 * the hole. `keep()` is the mask editImages takes — 1 keeps the image, 0 (painted) regenerates.
 */
export class BrushMask {
  private drawing = false;
  private readonly context: CanvasRenderingContext2D;

  constructor(
    private readonly overlay: HTMLCanvasElement,
    private readonly radius: () => number,
    private readonly onChange: () => void,
  ) {
    this.context = overlay.getContext('2d', { willReadFrequently: true })!;
    overlay.addEventListener('pointerdown', (e) => {
      this.drawing = true;
      overlay.setPointerCapture(e.pointerId);
      this.dab(e);
    });
    overlay.addEventListener('pointermove', (e) => this.drawing && this.dab(e));
    const stop = (): void => {
      this.drawing = false;
    };
    overlay.addEventListener('pointerup', stop);
    overlay.addEventListener('pointercancel', stop);
  }

  /** Matches the overlay to an image of `width`×`height` pixels and clears it. */
  reset(width: number, height: number): void {
    this.overlay.width = width;
    this.overlay.height = height;
    this.clear();
  }

  clear(): void {
    this.context.clearRect(0, 0, this.overlay.width, this.overlay.height);
    this.onChange();
  }

  /** The painted fraction of the image, in [0, 1]. */
  coverage(): number {
    const alpha = this.alpha();
    return alpha.reduce((n, a) => n + (a > 0 ? 1 : 0), 0) / Math.max(alpha.length, 1);
  }

  /** float32 [1, H, W]: 0 where painted, 1 elsewhere. */
  keep(): tf.Tensor3D {
    const alpha = this.alpha();
    return tf.tensor3d(Float32Array.from(alpha, (a) => (a > 0 ? 0 : 1)), [1, this.overlay.height, this.overlay.width]);
  }

  private alpha(): Uint8ClampedArray {
    const { width, height } = this.overlay;
    if (width === 0 || height === 0) return new Uint8ClampedArray(0);
    const rgba = this.context.getImageData(0, 0, width, height).data;
    return rgba.filter((_, i) => i % 4 === 3);
  }

  /** Paints a disc under the pointer, in image pixels (the overlay is shown scaled up). */
  private dab(e: PointerEvent): void {
    const box = this.overlay.getBoundingClientRect();
    const x = ((e.clientX - box.left) / box.width) * this.overlay.width;
    const y = ((e.clientY - box.top) / box.height) * this.overlay.height;
    this.context.fillStyle = 'rgba(255, 0, 160, 0.6)';
    this.context.beginPath();
    this.context.arc(x, y, this.radius(), 0, 2 * Math.PI);
    this.context.fill();
    this.onChange();
  }
}
