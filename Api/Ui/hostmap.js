// The host map: one canvas cell per host, drawn state by state with plain fillRect calls, so 10,000 hosts cost a
// few milliseconds and no DOM elements. Each state has its own colour AND its own shape (full, half, hollow, dot,
// cross, bar), and the legend names every state with its count, so colour is never the only signal.

// marks: what a cell of that state is drawn with, as fractions of the cell [x, y, width, height], each with its
// colour (alpha for a faint background); 'clear' punches a hole. Plain fillRect calls, grouped by state and mark.
export const STATES = [
  { key: 'pending', label: 'not yet updated', colour: '#9aa5b1', marks: [['#9aa5b1', 0, 0, 1, 1], ['clear', 0.25, 0.25, 0.5, 0.5]] },
  { key: 'updating', label: 'updating', colour: '#1f6feb', marks: [['#1f6feb', 0, 0, 1, 1, 0.3], ['#1f6feb', 0, 0.5, 1, 0.5]] },
  { key: 'updated', label: 'on the new version', colour: '#1a7f37', marks: [['#1a7f37', 0, 0, 1, 1]] },
  { key: 'rolling-back', label: 'rolling back', colour: '#bc4c00', marks: [['#bc4c00', 0, 0, 1, 1, 0.3], ['#bc4c00', 0, 0, 1, 0.5]] },
  { key: 'reverted', label: 'returned to the previous version', colour: '#8250df', marks: [['#8250df', 0, 0, 1, 1, 0.3], ['#8250df', 0.25, 0.25, 0.5, 0.5]] },
  { key: 'failed', label: 'failed', colour: '#cf222e', marks: [['#cf222e', 0, 0, 1, 1], ['clear', 0.4, 0, 0.2, 1], ['clear', 0, 0.4, 1, 0.2]] },
  { key: 'retired', label: 'retired', colour: '#57606a', marks: [['#57606a', 0, 0.4, 1, 0.2]] },
];

const INDEX = new Map(STATES.map((s, i) => [s.key, i]));

export class HostMap {
  /** canvas: the element to draw on; maxHeight: CSS pixels the map may take. */
  constructor(canvas, { maxHeight = 360, width = null } = {}) {
    this.canvas = canvas;
    this.fixedWidth = width;
    this.maxHeight = maxHeight;
    this.ids = [];
    this.states = new Uint8Array(0);
    this.byId = new Map();
    this.selected = -1;
    this.layout = { pitch: 8, cols: 1, p: 0, ratio: 1 };
  }

  /** hosts: [{id, state}] with state one of STATES' keys; ordered as given. */
  setHosts(hosts) {
    this.ids = hosts.map(h => h.id);
    this.states = new Uint8Array(hosts.length);
    this.byId = new Map();
    hosts.forEach((h, i) => {
      this.byId.set(h.id, i);
      this.states[i] = INDEX.get(h.state) ?? 0;
    });
    if (this.selected >= hosts.length) this.selected = -1;
  }

  /** Sets one host's state; false when the map does not hold the host. */
  set(id, state) {
    const i = this.byId.get(id);
    if (i === undefined || !INDEX.has(state)) return false;
    this.states[i] = INDEX.get(state);
    return true;
  }

  stateOf(i) {
    return STATES[this.states[i]].key;
  }

  counts() {
    const counts = Object.fromEntries(STATES.map(s => [s.key, 0]));
    for (let i = 0; i < this.states.length; i++) counts[STATES[this.states[i]].key]++;
    return counts;
  }

  /**
   * Lays the cells out for the canvas' width and draws every host; returns the milliseconds it took. The pixels are
   * written straight into one ImageData (a cell-sized sprite per state, copied row by row) and put on the canvas in
   * one call: no per-host drawing call at all, so 10,000 hosts cost about as much as one full-canvas copy.
   */
  draw() {
    const started = performance.now();
    const canvas = this.canvas;
    const width = this.fixedWidth ?? Math.max(100, canvas.clientWidth || canvas.parentElement?.clientWidth || 800);
    const n = Math.max(1, this.ids.length);
    const pitch = Math.max(3, Math.min(18, Math.floor(Math.sqrt((width * this.maxHeight) / n))));
    const cols = Math.max(1, Math.floor(width / pitch));
    const rows = Math.max(1, Math.ceil(this.ids.length / cols));
    const ratio = window.devicePixelRatio || 1;
    const p = Math.max(1, Math.round(pitch * ratio)); // device pixels per cell, gap included
    const c = pitch > 4 ? p - Math.max(1, Math.round(ratio)) : p; // the cell without its gap
    const w = Math.max(1, Math.round(width * ratio));
    const hgt = rows * p;
    if (canvas.width !== w || canvas.height !== hgt) {
      canvas.width = w;
      canvas.height = hgt;
      canvas.style.height = `${hgt / ratio}px`;
      if (this.fixedWidth) canvas.style.width = `${width}px`;
    }
    this.layout = { pitch, cols, p, ratio };
    const ctx = canvas.getContext('2d');
    if (!this.image || this.image.width !== w || this.image.height !== hgt) {
      this.image = ctx.createImageData(w, hgt);
      this.pixels = new Uint32Array(this.image.data.buffer);
    }
    const pixels = this.pixels;
    pixels.fill(0);
    const sprites = STATES.map(s => sprite(s, c));
    for (let i = 0; i < this.states.length; i++) {
      const sp = sprites[this.states[i]];
      const x = (i % cols) * p;
      let row = Math.floor(i / cols) * p * w + x;
      for (let y = 0, o = 0; y < c; y++, row += w, o += c) {
        for (let k = 0; k < c; k++) pixels[row + k] = sp[o + k];
      }
    }
    ctx.putImageData(this.image, 0, 0);
    if (this.selected >= 0) {
      ctx.strokeStyle = '#000';
      ctx.lineWidth = Math.max(2, Math.round(ratio * 2));
      ctx.strokeRect((this.selected % cols) * p - 1, Math.floor(this.selected / cols) * p - 1, c + 2, c + 2);
    }
    return performance.now() - started;
  }

  /** The host under a point of the canvas (CSS pixels), or -1. */
  hit(x, y) {
    const { cols, p, ratio } = this.layout;
    if (!p) return -1;
    const col = Math.floor((x * ratio) / p);
    if (col < 0 || col >= cols) return -1;
    const i = Math.floor((y * ratio) / p) * cols + col;
    return i >= 0 && i < this.ids.length ? i : -1;
  }

  /** Moves the keyboard selection (arrow keys); returns the selected index. */
  move(key) {
    const { cols } = this.layout;
    const n = this.ids.length;
    if (!n) return -1;
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols, Home: -n, End: n }[key];
    if (step === undefined) return this.selected;
    this.selected = Math.max(0, Math.min(n - 1, (this.selected < 0 ? 0 : this.selected + step)));
    return this.selected;
  }
}

const spriteCache = new Map();

/** A state's cell as RGBA pixels (little-endian Uint32: 0xAABBGGRR), its marks applied in order. */
function sprite(state, size) {
  const key = `${state.key}/${size}`;
  let pixels = spriteCache.get(key);
  if (pixels) return pixels;
  pixels = new Uint32Array(size * size);
  for (const [colour, fx, fy, fw, fh, alpha = 1] of state.marks) {
    if (colour === 'clear' && size < 4) continue; // too small for a hole to show
    const value = colour === 'clear' ? 0 : rgba(colour, alpha);
    const x0 = Math.round(fx * size);
    const y0 = Math.round(fy * size);
    const x1 = Math.min(size, x0 + Math.max(1, Math.round(fw * size)));
    const y1 = Math.min(size, y0 + Math.max(1, Math.round(fh * size)));
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) pixels[y * size + x] = value;
  }
  spriteCache.set(key, pixels);
  return pixels;
}

function rgba(hex, alpha) {
  const v = parseInt(hex.slice(1), 16);
  return ((Math.round(alpha * 255) << 24) | ((v & 0xff) << 16) | (v & 0xff00) | ((v >> 16) & 0xff)) >>> 0;
}
