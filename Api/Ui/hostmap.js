// The host map: one canvas cell per host, drawn in one pass per state (a Path2D each), so 10,000 hosts cost a
// handful of fills, not 10,000 DOM elements. Each state has its own colour AND its own shape (full, half, outline,
// cross), and the legend names every state with its count, so colour is never the only signal.

export const STATES = [
  { key: 'pending', label: 'not yet updated', colour: '#9aa5b1', shape: 'outline' },
  { key: 'updating', label: 'updating', colour: '#1f6feb', shape: 'top-half' },
  { key: 'updated', label: 'on the new version', colour: '#1a7f37', shape: 'full' },
  { key: 'rolling-back', label: 'rolling back', colour: '#bc4c00', shape: 'bottom-half' },
  { key: 'reverted', label: 'returned to the previous version', colour: '#8250df', shape: 'dot' },
  { key: 'failed', label: 'failed', colour: '#cf222e', shape: 'cross' },
  { key: 'retired', label: 'retired', colour: '#57606a', shape: 'dash' },
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
    this.layout = { pitch: 8, cols: 1 };
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

  /** Lays the cells out for the canvas' width and draws every host; returns the milliseconds it took. */
  draw() {
    const started = performance.now();
    const canvas = this.canvas;
    const width = this.fixedWidth ?? Math.max(100, canvas.clientWidth || canvas.parentElement?.clientWidth || 800);
    const n = Math.max(1, this.ids.length);
    const pitch = Math.max(3, Math.min(18, Math.floor(Math.sqrt((width * this.maxHeight) / n))));
    const cols = Math.max(1, Math.floor(width / pitch));
    const rows = Math.ceil(this.ids.length / cols);
    const height = Math.max(pitch, rows * pitch);
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      canvas.style.height = `${height}px`;
      if (this.fixedWidth) canvas.style.width = `${width}px`;
    }
    this.layout = { pitch, cols };
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const cell = pitch > 4 ? pitch - 1 : pitch;
    const paths = STATES.map(() => new Path2D());
    for (let i = 0; i < this.states.length; i++) {
      const x = (i % cols) * pitch;
      const y = Math.floor(i / cols) * pitch;
      const path = paths[this.states[i]];
      switch (STATES[this.states[i]].shape) {
        case 'top-half': path.rect(x, y, cell, Math.ceil(cell / 2)); path.rect(x, y, cell, cell); break;
        case 'bottom-half': path.rect(x, y + Math.floor(cell / 2), cell, Math.ceil(cell / 2)); path.rect(x, y, cell, cell); break;
        case 'dot': path.rect(x + cell / 4, y + cell / 4, cell / 2, cell / 2); path.rect(x, y, cell, cell); break;
        case 'cross': path.moveTo(x, y); path.lineTo(x + cell, y + cell); path.moveTo(x + cell, y); path.lineTo(x, y + cell); path.rect(x, y, cell, cell); break;
        case 'dash': path.rect(x, y + cell / 2 - 0.5, cell, 1); break;
        case 'outline': path.rect(x + 0.5, y + 0.5, cell - 1, cell - 1); break;
        default: path.rect(x, y, cell, cell);
      }
    }
    STATES.forEach((s, k) => {
      ctx.fillStyle = s.colour;
      ctx.strokeStyle = s.colour;
      ctx.lineWidth = 1;
      if (s.shape === 'outline') {
        ctx.stroke(paths[k]);
      } else if (s.shape === 'full' || s.shape === 'dash') {
        ctx.fill(paths[k]);
      } else if (s.shape === 'cross') {
        ctx.globalAlpha = 0.35; ctx.fill(paths[k]); ctx.globalAlpha = 1; ctx.stroke(paths[k]);
      } else {
        // Half and dot shapes: a faint cell with the marked part solid (the even-odd rule keeps them apart).
        ctx.globalAlpha = 0.25; ctx.fill(paths[k]); ctx.globalAlpha = 1; ctx.fill(paths[k], 'evenodd');
      }
    });
    if (this.selected >= 0) {
      ctx.strokeStyle = '#000';
      ctx.lineWidth = 2;
      ctx.strokeRect((this.selected % cols) * pitch - 1, Math.floor(this.selected / cols) * pitch - 1, cell + 2, cell + 2);
    }
    return performance.now() - started;
  }

  /** The host under a point of the canvas (CSS pixels), or -1. */
  hit(x, y) {
    const { pitch, cols } = this.layout;
    const col = Math.floor(x / pitch);
    if (col < 0 || col >= cols) return -1;
    const i = Math.floor(y / pitch) * cols + col;
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
