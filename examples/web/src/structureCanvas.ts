import * as tf from '@tensorflow/tfjs';

/** Region colours; region i is painted with REGION_COLOURS[i]. Four regions need three NVG stages of structure. */
export const REGION_COLOURS = ['#f2f2f2', '#2b6cb0', '#d69e2e', '#38a169'] as const;

/**
 * NVG's structure-guided generation input (NVG paper §3.2): a region map painted with a few colours, each colour one
 * region. `map()` is the [H, W] id map samplers' structureFromMap turns into the first stages' structure maps.
 */
export class StructureCanvas {
  private ids = new Int32Array(0);
  private drawing = false;
  region = 1;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly radius: () => number,
  ) {
    canvas.addEventListener('pointerdown', (e) => {
      this.drawing = true;
      canvas.setPointerCapture(e.pointerId);
      this.dab(e);
    });
    canvas.addEventListener('pointermove', (e) => this.drawing && this.dab(e));
    const stop = (): void => {
      this.drawing = false;
    };
    canvas.addEventListener('pointerup', stop);
    canvas.addEventListener('pointercancel', stop);
  }

  /** A blank map (all region 0) of `width`×`height` cells. */
  reset(width: number, height: number): void {
    this.canvas.width = width;
    this.canvas.height = height;
    this.ids = new Int32Array(width * height);
    this.redraw();
  }

  /** How many distinct regions the map holds. */
  regionCount(): number {
    return new Set(this.ids).size;
  }

  /** int32 [H, W] region ids. */
  map(): tf.Tensor2D {
    return tf.tensor2d(this.ids, [this.canvas.height, this.canvas.width], 'int32');
  }

  private dab(e: PointerEvent): void {
    const { width, height } = this.canvas;
    const box = this.canvas.getBoundingClientRect();
    const cx = ((e.clientX - box.left) / box.width) * width;
    const cy = ((e.clientY - box.top) / box.height) * height;
    const r = this.radius();
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r) this.ids[y * width + x] = this.region;
      }
    }
    this.redraw();
  }

  private redraw(): void {
    const context = this.canvas.getContext('2d')!;
    const { width } = this.canvas;
    this.ids.forEach((id, p) => {
      context.fillStyle = REGION_COLOURS[id] ?? '#000';
      context.fillRect(p % width, Math.floor(p / width), 1, 1);
    });
  }
}
